"""`mesoclaw setup`: give mesoclaw a provider (a key or the environment variable that holds one), check
it live, pick the default profile. The same steps as the app's setup screen, asked in the terminal;
or, for a script, `mesoclaw setup --provider openai --api-key-stdin --profile eco < key.txt`.

A key goes to config.toml (mode 0600), never to the database, and is never printed in full.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..core.provider_info import PROVIDERS, provider_info
from ..core.types import MesoclawError, parse_profile
from . import output as out
from .main import EXIT_FAILURE, ExitCode, json_option, run_with_service

CHECK_TIMEOUT_S = 10.0
PROFILES = ("eco", "balanced", "premium")


def register(cli: click.Group) -> None:
    cli.add_command(setup)


@click.command()
@click.option("--provider", help=f"The provider to set up: {', '.join(PROVIDERS)}.")
@click.option("--api-key-stdin", is_flag=True, help="Read its key from stdin (kept in config.toml, mode 0600).")
@click.option("--api-key-env", metavar="NAME", help="Read its key from this environment variable instead.")
@click.option("--profile", help="The default routing profile: eco, balanced or premium.")
@click.option("--no-check", is_flag=True, help="Do not check the provider live.")
@json_option
@click.pass_context
def setup(ctx: click.Context, provider: str | None, api_key_stdin: bool, api_key_env: str | None,
          profile: str | None, no_check: bool, as_json: bool) -> None:
    """Set up a provider and the default profile: asks on a terminal, or takes the options.

    Exit codes: 0 done (and the provider answered); 1 the provider was saved but did not answer the
    live check (the error says why); 2 bad input (nothing changed).
    """
    options = (provider, api_key_stdin, api_key_env, profile)
    if any(options):
        steps = _from_options(provider, api_key_stdin, api_key_env, profile)
        done = run_with_service(ctx, lambda s: _apply(s, steps, check=not no_check))
    elif sys.stdin.isatty():
        done = run_with_service(ctx, lambda s: _interactive(s, check=not no_check))
    else:
        raise MesoclawError("stdin is not a terminal, so mesoclaw cannot ask: give --provider P with "
                            "--api-key-stdin or --api-key-env NAME, and/or --profile")
    if as_json:
        out.emit_json(done)
    failed = [c["provider"] for c in done["checks"] if not c["ok"]]
    if failed:
        raise ExitCode(EXIT_FAILURE, f"saved, but {', '.join(failed)} did not answer the check (see above)")


def _from_options(provider: str | None, api_key_stdin: bool, api_key_env: str | None,
                  profile: str | None) -> dict[str, Any]:
    """The options checked (and the key read) before anything is written."""
    if profile is not None:
        parse_profile(profile)
    if provider is None:
        if api_key_stdin or api_key_env:
            raise MesoclawError("--api-key-stdin and --api-key-env need --provider")
        return {"provider": None, "profile": profile}
    info = provider_info(provider)
    if api_key_stdin and api_key_env:
        raise MesoclawError("give --api-key-stdin or --api-key-env NAME, not both")
    if not (api_key_stdin or api_key_env) and info.needs_key:
        raise MesoclawError(f"{info.id} needs a key: give --api-key-stdin (and pipe it) or --api-key-env NAME")
    key = sys.stdin.readline().strip() if api_key_stdin else None
    if api_key_stdin and not key:
        raise MesoclawError('no key on stdin (pipe it: printf %s "$KEY" | mesoclaw setup --provider … --api-key-stdin)')
    return {"provider": info.id, "api_key": key, "api_key_env": api_key_env, "profile": profile}


async def _apply(service: Any, steps: dict[str, Any], *, check: bool) -> dict[str, Any]:
    done: dict[str, Any] = {"config": str(service.settings.paths.config_path), "providers": [], "checks": [],
                            "profile": None}
    if steps["provider"]:
        await _provider(service, done, steps["provider"], steps.get("api_key"), steps.get("api_key_env"), check)
    if steps["profile"]:
        await _profile(service, done, steps["profile"])
    return done


async def _provider(service: Any, done: dict[str, Any], pid: str, key: str | None, env: str | None,
                    check: bool) -> None:
    settings = await service.configure_provider(pid, api_key=key, api_key_env=env)
    if settings.masked_key:
        shown = f"key {settings.masked_key} ({settings.key_source})"
    elif env:
        shown = f"key from ${env}"  # named, though not set in this shell (said below)
    else:
        shown = "no key needed" if not settings.info.needs_key else "no key"
    done["providers"].append({"provider": pid, "key": settings.masked_key or None, "key_source": settings.key_source
                              or None, "configured": settings.configured})
    _say(done, f"{pid}: saved in {done['config']}: {shown}")
    if env and not settings.api_key:
        _say(done, f"{pid}: note: ${env} is not set in this shell; export it where you run mesoclaw")
    elif key and settings.key_source != "config.toml":
        _say(done, f"{pid}: note: {settings.key_source} is set and is used before the key in config.toml")
    if check and settings.configured:
        _say(done, f"{pid}: checking…")
        result = (await service.check_providers([pid], timeout=CHECK_TIMEOUT_S))[0]
        done["checks"].append({k: v for k, v in result.items() if k not in ("models", "skipped_ids")}
                              | {"models": len(result["models"] or [])})
        _say(done, f"{pid}: " + (f"ok, {len(result['models'] or [])} models listed in {result['ms']} ms"
                                 if result["ok"] else f"failed: {result['error']}"))


async def _profile(service: Any, done: dict[str, Any], name: str) -> None:
    profile = await service.set_router_profile(name)
    done["profile"] = profile.value
    _say(done, f"profile: {profile.value} ({profile.description})")


def _say(done: dict[str, Any], line: str) -> None:
    """Progress on stderr (stdout is kept for --json)."""
    out.echo(line, err=True)


# asked on a terminal -----------------------------------------------------------------------------------


async def _interactive(service: Any, *, check: bool) -> dict[str, Any]:
    done: dict[str, Any] = {"config": str(service.settings.paths.config_path), "providers": [], "checks": [],
                            "profile": None}
    out.echo(f"Keys are kept in {done['config']} (mode 0600), never in the database; or name the "
             "environment variable that holds one.", err=True)
    while True:
        _list_providers(service)
        chosen = click.prompt("Provider to set up (number or name; enter when done)", default="",
                              show_default=False, err=True).strip()
        if not chosen:
            break
        pid = _pick(chosen)
        if pid is None:
            out.echo(f"  choose a number 1-{len(PROVIDERS)} or one of: {', '.join(PROVIDERS)}", err=True)
            continue
        key, env = _ask_key(pid)
        try:
            await _provider(service, done, pid, key, env, check)
        except MesoclawError as exc:  # a pasted key with spaces in it, say: ask again
            out.echo(f"  {exc}", err=True)
    current = (await service.get_router_config()).profile.value
    name = click.prompt("Default profile", type=click.Choice(PROFILES), default=current, err=True)
    if name != current:
        await _profile(service, done, name)
    else:
        done["profile"] = current
        _say(done, f"profile: {current} (unchanged)")
    return done


def _list_providers(service: Any) -> None:
    for number, (pid, settings) in enumerate(service.settings.providers.items(), 1):
        state = f"configured ({settings.key_source or 'enabled'}{', ' + settings.masked_key if settings.masked_key else ''})" \
            if settings.configured else "not configured"
        out.echo(f"  {number}. {pid:<11} {settings.info.name:<18} {state}", err=True)


def _pick(chosen: str) -> str | None:
    if chosen.isdigit() and 1 <= int(chosen) <= len(PROVIDERS):
        return list(PROVIDERS)[int(chosen) - 1]
    return chosen.lower() if chosen.lower() in PROVIDERS else None


def _ask_key(pid: str) -> tuple[str | None, str | None]:
    info = PROVIDERS[pid]
    if not info.needs_key:
        return None, None
    hint = info.key_envs[0] if info.key_envs else "NAME"
    answer = click.prompt(f"{info.name} API key (hidden; or env:{hint} to read it from that variable)",
                          hide_input=True, err=True).strip()
    if answer.startswith("env:"):
        return None, answer[4:].strip()
    return answer, None
