"""Where things live (platformdirs), config.toml, and each provider's credentials and base URL.

API keys come from the environment or config.toml only. They are held here in memory, shown
masked, and handed to nothing but the provider's own adapter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .core.provider_info import PROVIDERS, ProviderInfo, parse_ollama_host
from .core.types import MesoclawError
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
        """Text (a provider's error, say) with this provider's key and any URL password masked."""
        if self.api_key and len(self.api_key) >= 4:
            text = text.replace(self.api_key, self.masked_key or "…")
        shown = display_url(self.base_url)
        if shown != self.base_url:
            text = text.replace(self.base_url.split("://", 1)[1].split("@", 1)[0], "***")
        return text


@dataclass(frozen=True)
class Settings:
    paths: Paths
    providers: dict[str, ProviderSettings]

    def configured(self) -> frozenset[str]:
        return frozenset(p for p, s in self.providers.items() if s.configured)


def read_config_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    import tomllib

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise MesoclawError(f"{path} is not valid TOML: {exc}") from None
    providers = data.get("providers", {})
    if not isinstance(providers, dict):
        raise MesoclawError(f"{path}: [providers] must be a table of [providers.<id>] tables")
    for pid, table in providers.items():
        if pid not in PROVIDERS:
            raise MesoclawError(
                f"{path}: unknown provider [providers.{pid}] (choose one of: {', '.join(PROVIDERS)})"
            )
        if not isinstance(table, dict) or not set(table) <= PROVIDER_KEYS:
            raise MesoclawError(
                f"{path}: [providers.{pid}] takes only {', '.join(sorted(PROVIDER_KEYS))}"
            )
        problem = provider_table_problem(table)
        if problem:
            raise MesoclawError(f"{path}: [providers.{pid}] {problem}")
    return data


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


def display_url(url: str) -> str:
    """A base URL as it may be shown or stored: any user:password in it masked."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if sep and at and "/" not in userinfo:
        return f"{scheme}://***@{host}"
    return url


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
