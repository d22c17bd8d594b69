"""Where things live (platformdirs), config.toml, and each provider's credentials and base URL.

API keys come from the environment or config.toml only. They are held here in memory, shown
masked, and handed to nothing but the provider's own adapter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.provider_info import PROVIDERS, ProviderInfo, parse_ollama_host
from .core.types import MesoclawError, MesoclawFailure
from .paths import APP_NAME, CONFIG_NAME, DB_NAME, Paths, resolve_paths  # noqa: F401  (re-exported)

PROVIDER_KEYS = {"api_key", "api_key_env", "base_url", "enabled"}


def mask(secret: str | None) -> str:
    if not secret:
        return ""
    return "…" + secret[-4:] if len(secret) > 8 else "…"


@dataclass(frozen=True)
class ProviderSettings:
    info: ProviderInfo
    api_key: str | None = field(default=None, repr=False)
    key_source: str = ""  # "env OPENAI_API_KEY", "config.toml", "" when none
    base_url: str = ""
    base_url_source: str = "default"
    enabled: bool | None = None  # config.toml's `enabled`; None when unset

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def configured(self) -> bool:
        if self.enabled is False:
            return False
        if not self.info.needs_key:  # Ollama: configured when its host is set or config enables it
            return self.enabled is True or self.base_url_source != "default" or bool(self.api_key)
        return bool(self.api_key)

    @property
    def masked_key(self) -> str:
        return mask(self.api_key)

    def scrub(self, text: str) -> str:
        """Text (a provider's error, say) with this provider's key and any URL password masked: the
        base URL's user:password, the password alone (as in a decoded Basic header), and any other
        URL with a password in it."""
        if self.api_key and len(self.api_key) >= 4:
            text = text.replace(self.api_key, self.masked_key or "…")
        userinfo = _userinfo(self.base_url)
        if userinfo:
            text = text.replace(userinfo, "***")
            password = userinfo.partition(":")[2]
            if len(password) >= 4:
                text = text.replace(password, "***")
        return mask_url_passwords(text)


@dataclass(frozen=True)
class Settings:
    paths: Paths
    providers: dict[str, ProviderSettings]

    def configured(self) -> frozenset[str]:
        return frozenset(p for p, s in self.providers.items() if s.configured)

    def scrub(self, text: str) -> str:
        """Text with every provider's key and URL password masked (for errors of unknown origin)."""
        for settings in self.providers.values():
            text = settings.scrub(text)
        return text


class ConfigFileError(MesoclawError):
    """config.toml cannot be used as it is: the message names the file and, where it can, the line.
    (A face tells this apart from a database problem.)"""


class ConfigFileUnreadable(MesoclawFailure):
    """config.toml exists but cannot be read (permissions, a folder in its place)."""


def read_config_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    import tomllib

    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc.strerror or str(exc)
        raise ConfigFileUnreadable(f"cannot read {path}: {reason}") from None
    providers = data.get("providers", {})
    if not isinstance(providers, dict):
        raise ConfigFileError(f"{_where(path, text, 'providers')}: [providers] must be a table of "
                              "[providers.<id>] tables")
    for pid, table in providers.items():
        where = _where(path, text, f"providers.{pid}")
        if pid not in PROVIDERS:
            raise ConfigFileError(f"{where}: unknown provider [providers.{pid}] (choose one of: {', '.join(PROVIDERS)})")
        if not isinstance(table, dict) or not set(table) <= PROVIDER_KEYS:
            raise ConfigFileError(f"{where}: [providers.{pid}] takes only {', '.join(sorted(PROVIDER_KEYS))}")
        problem = provider_table_problem(table)
        if problem:
            key = problem.split(" ", 1)[0]
            raise ConfigFileError(f"{_where(path, text, f'providers.{pid}', key)}: [providers.{pid}] {problem}")
    return data


def config_tables(paths: Paths, *names: str) -> tuple[str, tuple[object, ...]]:
    """Top-level tables of config.toml as tomllib gives them (None where absent), with the file's path
    for messages: the agent's `[agent]` and `[mcp]`, which agent/config.py validates. Read the same
    way by every face, so they all run with the same settings."""
    data = read_config_file(paths.config_path)
    return str(paths.config_path), tuple(data.get(name) for name in names)


def _where(path: Path, text: str, table: str, key: str | None = None) -> str:
    """`path, line N`: the line of the [table] header, or of `key = …` inside it (just the path when
    neither is written out, an inline table say)."""
    header = re.compile(r"\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, table.split("."))) + r"\s*\]")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return str(path)
    found = start
    if key is not None:
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if re.match(r"\s*" + re.escape(key) + r"\s*=", lines[i]):
                found = i
                break
    return f"{path}, line {found + 1}"


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def provider_table_problem(table: Mapping[str, object]) -> str | None:
    """What is wrong with one [providers.<id>] table, or None."""
    for key in ("api_key", "api_key_env", "base_url"):
        if key in table and (not isinstance(table[key], str) or not table[key]):
            return f"{key} must be a non-empty string"
    if "enabled" in table and not isinstance(table["enabled"], bool):
        return "enabled must be true or false"
    if "api_key_env" in table and not ENV_NAME.fullmatch(str(table["api_key_env"])):
        return "api_key_env must be the NAME of an environment variable (letters, digits, _)"
    if "base_url" in table and not str(table["base_url"]).startswith(("http://", "https://")):
        return "base_url must start with http:// or https://"
    return None


def _userinfo(url: str) -> str:
    """The user:password part of a URL ("" when it has none)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, _ = rest.partition("@")
    return userinfo if sep and at and "/" not in userinfo else ""


def display_url(url: str) -> str:
    """A base URL as it may be shown or stored: any user:password in it masked."""
    userinfo = _userinfo(url)
    return url.replace(f"://{userinfo}@", "://***@", 1) if userinfo else url


# scheme://user:password@ or scheme://token@ anywhere in a text (an error message, a job's output)
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s/@]+)@")


def mask_url_passwords(text: str) -> str:
    """Every URL in `text` with its userinfo masked (`http://***@host`)."""
    if "@" not in text:
        return text
    return _URL_USERINFO.sub(r"\1***@", text)


# config.toml is read, changed and written by separate processes (`providers set` in parallel, the
# app): each read-modify-write holds an exclusive lock on a file beside it, writes a temp file of its
# own in the same folder, syncs it, and renames it over config.toml (atomic on POSIX and Windows).


@contextmanager
def config_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of config.toml (a `config.toml.lock` beside it) until the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: lock the first byte, retrying while another process holds it
        import msvcrt
        import time

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
                return
            except OSError:
                time.sleep(0.01)
    fcntl.flock(fd, fcntl.LOCK_EX)


def write_private(path: Path, text: str, *, create_folder: bool = True) -> None:
    """Replace a file (that may hold keys): a unique 0600 temp file in the same folder, synced to disk,
    then renamed over it, so a reader sees the old file or the new one, never a part. OSError when it
    cannot (the file is then as it was)."""
    import tempfile

    if create_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; there is no such thing on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def update_config_file(path: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Read config.toml, apply `change` to its data, write it back: under the lock, so two processes
    changing different sections at once both keep their change. A MesoclawError from `change` (or
    from reading a bad file) leaves the file as it was. Returns the data written."""
    import tomli_w

    with config_lock(path):
        data = read_config_file(path)
        change(data)
        try:
            write_private(path, tomli_w.dumps(data))
        except OSError as exc:
            raise MesoclawFailure(f"cannot write {path}: {exc.strerror or exc} (it is unchanged)") from None
    return data


def load_settings(paths: Paths, environ: Mapping[str, str] = os.environ) -> Settings:
    config = read_config_file(paths.config_path).get("providers", {})
    return Settings(paths, {pid: _provider(info, config.get(pid, {}), environ) for pid, info in PROVIDERS.items()})


def _provider(info: ProviderInfo, table: dict, environ: Mapping[str, str]) -> ProviderSettings:
    api_key, key_source = None, ""
    key_envs = ((table["api_key_env"],) if table.get("api_key_env") else ()) + info.key_envs
    for name in key_envs:
        if environ.get(name):
            api_key, key_source = environ[name], f"env {name}"
            break
    if api_key is None and table.get("api_key"):
        api_key, key_source = str(table["api_key"]), "config.toml"
    if info.id == "ollama" and api_key is None and environ.get("OLLAMA_API_KEY"):
        api_key, key_source = environ["OLLAMA_API_KEY"], "env OLLAMA_API_KEY"

    base_url, source = info.default_base_url, "default"
    for name in (info.mesoclaw_base_url_env, *info.base_url_envs):
        if environ.get(name):
            base_url, source = environ[name], f"env {name}"
            break
    else:
        if table.get("base_url"):
            base_url, source = str(table["base_url"]), "config.toml"
    if info.id == "ollama" and source != "default":
        base_url = parse_ollama_host(base_url)
    enabled = table.get("enabled")
    return ProviderSettings(info, api_key, key_source, base_url.rstrip("/"), source,
                            bool(enabled) if enabled is not None else None)
