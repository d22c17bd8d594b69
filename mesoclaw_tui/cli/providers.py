"""`mesoclaw providers`: where each provider's key and base URL come from, live checks, config.toml."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from ..core.provider_info import provider_info
from ..core.types import MesoclawError
from . import output as out
from .main import EXIT_NO_PROVIDER, ExitCode, json_option, run_with_service


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def providers(ctx: click.Context, as_json: bool) -> None:
    """Each provider: configured, where the key comes from (masked), base URL, last check, cooldown."""
    if ctx.invoked_subcommand is not None:
        return
    report = run_with_service(ctx, lambda s: s.provider_report())
    if as_json:
        out.emit_json(report)
        return
    con = out.console()
    wide = con.width >= 120
    rows, urls = [], []
    now = time.time()
    for p in report:
        check = p["last_check"]
        check_text = "-" if not check else (
            f"{'ok' if check['ok'] else 'failed'} {check['ms']} ms, {_ago(now - check['at'])}"
            + ("" if check["ok"] else f" ({check['error']})"))
        cooldown = f"{p['cooldown_s']:.0f}s" if p["cooldown_s"] else (
            f"unusable {p['unusable_s']:.0f}s" if p["unusable_s"] else "-")
        key = f"{p['key']} ({p['key_source']})" if p["key"] else (p["key_source"] or "-")
        base = p["base_url"] + ("" if p["base_url_source"] == "default" else f" ({p['base_url_source']})")
        if p["base_url_source"] != "default":
            urls.append(f"{p['provider']}: {base}")
        rows.append((p["provider"], out.mark(p["configured"]), out.escape(key), out.escape(base),
                     out.escape(check_text), cooldown))
    # Below 120 columns the base URLs (one unbreakable word each) leave the table: the ones you set are
    # listed under it, a line each; `--json` gives them all.
    headers = ("provider", "configured", "key", "base URL", "last check", "cooldown")
    if not wide:
        headers, rows = headers[:3] + headers[4:], [row[:3] + row[4:] for row in rows]
    t = out.table(*headers)
    for row in rows:
        t.add_row(*row)
    con.print(out.keep_words_whole(t, rows, con.width))
    if not wide:
        con.print("base URLs: the providers' own" + (", except:" if urls else " (--json lists them)"))
        for line in urls:
            con.print(out.escape(f"  {line}"))


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


@providers.command()
@click.option("--provider", "only", multiple=True, help="Check only this provider (repeatable).")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds to wait for each provider.")
@json_option
@click.pass_context
def check(ctx: click.Context, only: tuple[str, ...], timeout: float, as_json: bool) -> None:
    """Ask each configured provider's model list (Ollama: the models pulled); feeds routing.

    Exit codes: 0 every provider checked answered; 1 any of them failed (the table says which and
    why); 3 no provider is configured."""
    from ..core.model_ids import skipped_note
    from ..core.provider_info import no_provider_message

    results = run_with_service(ctx, lambda s: s.check_providers(list(only) or None, timeout=timeout))
    if not results:
        raise ExitCode(EXIT_NO_PROVIDER, no_provider_message())
    if as_json:
        out.emit_json([{k: v for k, v in r.items() if k != "models"} | {"models": len(r["models"] or [])}
                       for r in results])
    else:
        t = out.table("provider", "ok", "ms", "models", "error")
        for r in results:
            t.add_row(r["provider"], out.mark(r["ok"]), str(r["ms"]), str(len(r["models"] or [])),
                      out.escape(r["error"] or ""))
        out.console().print(t)
        for r in results:
            if r.get("skipped_ids"):
                out.console().print(f"{r['provider']}: {skipped_note(r['skipped_ids'])}")
    failed_check(results, "")


def failed_check(results: list[dict[str, Any]], consequence: str) -> None:
    """Exit 1, naming them, when any provider checked failed: 0 means every one answered."""
    failed = [r["provider"] for r in results if not r["ok"]]
    if not failed:
        return
    which = "no provider answered" if len(failed) == len(results) else \
        f"{len(failed)} of {len(results)} providers failed: {', '.join(failed)}"
    raise ExitCode(1, which + consequence)


@providers.command("set")
@click.argument("provider")
@click.option("--api-key-env", help="Read the key from this environment variable.")
@click.option("--api-key-stdin", is_flag=True, help="Read the key from stdin (kept in config.toml, mode 0600).")
@click.option("--base-url", help="Send this provider's requests here (your own gateway).")
@click.option("--enable/--disable", "enabled", default=None, help="Use or ignore this provider.")
@click.option("--clear", is_flag=True, help="Remove this provider's section from config.toml.")
@click.pass_context
def set_provider(ctx: click.Context, provider: str, api_key_env: str | None, api_key_stdin: bool,
                 base_url: str | None, enabled: bool | None, clear: bool) -> None:
    """Write PROVIDER's section of config.toml ([providers.<id>]), readable by you alone."""
    from ..settings import display_url, mask, resolve_paths, update_config_file

    pid = provider_info(provider).id
    changes = _provider_changes(pid, api_key_env, api_key_stdin, base_url, enabled, clear)
    if api_key_stdin:
        changes["api_key"] = _key_from_stdin()
    path = resolve_paths(ctx.find_root().params.get("db")).config_path
    written: dict[str, object] = {}

    def change(data: dict) -> None:
        providers = data.setdefault("providers", {})
        section = {} if clear else dict(providers.get(pid, {}))
        section.update(changes)
        if section:
            providers[pid] = section
        else:
            providers.pop(pid, None)
        written.update(section)

    update_config_file(path, change)
    con = out.console()
    if not written:
        con.print(f"removed {out.escape(f'[providers.{pid}]')} from {out.escape(str(path))}")
        return
    shown = ", ".join(f"{k} = {_shown(k, v, mask, display_url)}" for k, v in written.items())
    con.print(out.escape(f"[providers.{pid}] in {path}: {shown}"))


def _shown(key: str, value: object, mask: Any, display_url: Any) -> str:
    """A config value as it may be printed: the key masked, a password in a URL masked."""
    if key == "api_key":
        return mask(str(value))
    if key == "base_url":
        return display_url(str(value))
    return str(value)


def _provider_changes(pid: str, api_key_env: str | None, api_key_stdin: bool, base_url: str | None,
                      enabled: bool | None, clear: bool) -> dict[str, object]:
    """The options given, checked before anything is read or written; the keys of the section to set."""
    from ..settings import provider_table_problem

    changes: dict[str, object] = {name: value for name, value in
                                  (("api_key_env", api_key_env), ("base_url", base_url), ("enabled", enabled))
                                  if value is not None}
    if clear and (changes or api_key_stdin):
        raise MesoclawError("--clear removes the whole section: give it alone")
    if api_key_stdin and api_key_env:
        raise MesoclawError("give --api-key-env NAME or --api-key-stdin, not both")
    if not (clear or changes or api_key_stdin):
        raise MesoclawError("nothing to set: give --api-key-env, --api-key-stdin, --base-url, "
                            "--enable/--disable or --clear")
    problem = provider_table_problem(changes)
    if problem:
        # Never echo the value: a key pasted where a variable name belongs must not be printed.
        raise MesoclawError(f"[providers.{pid}] {problem}")
    return changes


def _key_from_stdin() -> str:
    key = sys.stdin.readline().strip()
    if not key:
        raise MesoclawError("no key on stdin (pipe it: printf %s \"$KEY\" | mesoclaw providers set …)")
    return key


def register(cli: click.Group) -> None:
    cli.add_command(providers)
