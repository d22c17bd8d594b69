"""`mesoclaw router …`: profiles, task routing, custom chains, models, status, test, export/import."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..core.types import MesoclawError, TaskType, parse_task, real_today
from . import output as out
from .main import json_option, run_with_service

TASKS = ", ".join(t.value for t in TaskType)


@click.group()
def router() -> None:
    """Routing profiles, per-task models, custom chains and the model registry."""


# profile ---------------------------------------------------------------------------------------


@router.group(invoke_without_command=True)
@json_option
@click.pass_context
def profile(ctx: click.Context, as_json: bool) -> None:
    """Show the active routing profile (eco, balanced or premium)."""
    if ctx.invoked_subcommand is not None:
        return
    config = run_with_service(ctx, lambda s: s.get_router_config())
    _print_profile(config.profile, as_json)


@profile.command("set")
@click.argument("name")
@json_option
@click.pass_context
def profile_set(ctx: click.Context, name: str, as_json: bool) -> None:
    """Set the routing profile: eco, balanced or premium."""
    chosen = run_with_service(ctx, lambda s: s.set_router_profile(name))
    _print_profile(chosen, as_json)


def _print_profile(p: Any, as_json: bool) -> None:
    if as_json:
        out.emit_json({"profile": p.value, "description": p.description,
                       "tiers": [t.value for t in p.tier_preference]})
    else:
        out.console().print(out.markup("{}  [dim]{}[/]", p.value, p.description))


# task ------------------------------------------------------------------------------------------


@router.command()
@click.argument("task")
@click.option("--set", "model", metavar="MODEL", help="Always try MODEL first for this task.")
@click.option("--clear", is_flag=True, help="Remove this task's override.")
@json_option
@click.pass_context
def task(ctx: click.Context, task: str, model: str | None, clear: bool, as_json: bool) -> None:
    """Show the model for TASK (code, general, fast, creative, analysis), or override it."""
    chosen = parse_task(task)
    if model is not None and clear:
        raise MesoclawError("give --set MODEL or --clear, not both")

    async def act(service):
        if model is not None:
            await service.set_task_model_override(chosen, model)
        elif clear:
            await service.clear_task_override(chosen)
        return await service.task_view(chosen, await service.get_router_config())

    view = run_with_service(ctx, act)
    if as_json:
        out.emit_json(view)
        return
    _print_task(view)


def _print_task(view: dict[str, Any]) -> None:
    con = out.console()
    primary = view["primary"]
    target = f"{primary['provider']}:{primary['model']}" if primary else out.styled("no available model", "red")
    con.print(out.markup("[bold]{}[/] ({}) -> ", view["task"], view["profile"]) + target)
    if view["override"]:
        con.print(f"  override: {out.escape(view['override'])}")
    if view["custom_route"]:
        con.print(f"  custom route: {out.escape(' -> '.join(view['custom_route']))}")
    t = out.table("stage", "model", "provider", "available", "why")
    for entry in view["chain"]:
        name = entry["model"] + (f" → {entry['resolves_to']}" if entry["resolves_to"] else "")
        t.add_row(entry["stage"], out.escape(name), entry["provider"] or "-",
                  out.mark(entry["available"]), out.escape(entry["reason"]))
    con.print(t)


# chain (custom route) --------------------------------------------------------------------------------


@router.command()
@click.argument("task")
@click.option("--set", "models", metavar="M1,M2,...", help="This task's custom chain, tried before the profile's.")
@click.option("--clear", is_flag=True, help="Remove this task's custom chain.")
@json_option
@click.pass_context
def chain(ctx: click.Context, task: str, models: str | None, clear: bool, as_json: bool) -> None:
    """Show or set TASK's custom route: models tried after the override, before the profile's chain.

    Setting the route already stored changes nothing; setting the active profile's own chain removes the
    custom route (the task follows the profile again). The first line says which happened; --json gives
    it as "change": saved, unchanged, cleared or profile."""
    chosen = parse_task(task)
    if models is not None and clear:
        raise MesoclawError("give --set M1,M2,... or --clear, not both")

    changed: list[Any] = []

    async def act(service):
        if models is not None:
            changed.append(await service.set_custom_route(chosen, models.split(",")))
        elif clear:
            await service.clear_custom_route(chosen)
        return await service.task_view(chosen, await service.get_router_config())

    view = run_with_service(ctx, act)
    if as_json:
        out.emit_json({**view, "change": changed[0].outcome} if changed else view)
        return
    if changed:
        out.console().print(out.escape(changed[0].summary))
    elif not view["custom_route"]:
        out.console().print(f"no custom route for {view['task']}: the profile's chain is used "
                            f"(set one with --set M1,M2,…)")
    _print_task(view)


# models ----------------------------------------------------------------------------------------------


@router.group(invoke_without_command=True)
@click.option("--provider", help="Only this provider's models.")
@click.option("--tier", help="Only this cost tier: low, medium or high.")
@click.option("--available", is_flag=True, help="Only models whose provider is configured.")
@click.option("--outdated", is_flag=True,
              help="Instead: every chain, fallback, task override and custom route that names a model retired "
                   "today or retiring within 30 days, and what it resolves to.")
@json_option
@click.pass_context
def models(ctx: click.Context, provider: str | None, tier: str | None, available: bool, outdated: bool,
           as_json: bool) -> None:
    """List every routable model (built-in, refreshed and user-added)."""
    if ctx.invoked_subcommand is not None:
        return
    if outdated:
        if provider or tier or available:
            raise MesoclawError("--outdated lists where models are named, not models: it takes no --provider, "
                                "--tier or --available")
        _print_outdated(run_with_service(ctx, lambda s: s.outdated()), as_json)
        return
    rows = run_with_service(ctx, lambda s: s.get_available_models_for_routing(provider, tier, available))
    today = real_today()
    if as_json:
        out.emit_json([model_dict(r.model, r.available, today) for r in rows])
        return
    from ..core.lifecycle import status_label

    con = out.console()
    wide = con.width >= 120  # at 80 columns the canonical name, status and source would crush the rest
    columns = ["provider", "model", "tier", "context", "in $/1M", "out $/1M", "avail"]
    t = out.table(*(columns[:2] + ["canonical"] + columns[2:] + ["status", "source"] if wide else columns))
    for r in rows:
        m = r.model
        cells = [m.provider, out.escape(m.model_id), out.tier(m.cost_tier.value), out.tokens(m.context_window),
                 out.price(m.input_price), out.price(m.output_price), out.mark(r.available)]
        if wide:
            status = " ".join(x for x in (status_label(m, today), "(approx)" if m.approx else "") if x)
            cells = cells[:2] + [out.escape(m.canonical)] + cells[2:] + [out.escape(status), m.source]
        t.add_row(*cells)
    con.print(t)
    if not wide:
        con.print(out.styled("wider terminal or --json for canonical names, status and source", "dim"))


def _print_outdated(refs: list[Any], as_json: bool) -> None:
    from ..service.views import outdated_dict

    if as_json:
        out.emit_json([outdated_dict(ref) for ref in refs])
        return
    con = out.console()
    if not refs:
        con.print("nothing outdated: no chain, fallback, override or custom route names a model that is retired "
                  "or retires within 30 days")
        return
    t = out.table("where", "model", "status", "routes to")
    for ref in refs:
        status = f"{ref.status.value} {ref.retires}".strip()
        routes_to = ref.resolves_to or "nothing (no successor)"
        if ref.resolves_to == ref.canonical and ref.successor:
            routes_to += f" (successor {ref.successor})"
        t.add_row(ref.where, out.escape(ref.name), status, out.escape(routes_to))
    con.print(t)


def _configured_providers(ctx: click.Context) -> frozenset[str]:
    from ..settings import load_settings, resolve_paths

    return load_settings(resolve_paths(ctx.find_root().params.get("db"))).configured()


def model_dict(m: Any, available: bool, today: str) -> dict[str, Any]:
    from ..core.lifecycle import status_label, status_on

    return {
        "provider": m.provider, "model": m.model_id, "canonical": m.canonical, "aliases": list(m.aliases),
        "cost_tier": m.cost_tier.value, "context_window": m.context_window, "max_output": m.max_output,
        "input_price": m.input_price, "output_price": m.output_price, "price_source": m.price_source or None,
        "as_of": m.as_of or None, "approx": m.approx, "best_for": m.best_for, "status": status_label(m, today),
        "lifecycle": status_on(m, today).value, "retires": m.retires or None, "successor": m.successor or None,
        "capabilities": sorted(c.value for c in m.capabilities) if m.capabilities is not None else None,
        "available": available, "source": m.source, "note": m.note or None,
    }


@models.command("add")
@click.argument("provider")
@click.argument("model")
@click.option("--tier", required=True, help="Cost tier: low, medium or high.")
@click.option("--context", "context_window", type=int, help="Context window in tokens.")
@click.option("--max-output", type=int, help="Largest reply in tokens.")
@click.option("--price-in", type=float, help="USD per 1M input tokens.")
@click.option("--price-out", type=float, help="USD per 1M output tokens.")
@click.option("--best-for", default="", help="A few words on what it is good at.")
@click.option("--replace", is_flag=True, help="Replace a model added before, every field as given here (without "
              "it, adding one twice is refused: `models update` changes some fields and keeps the others).")
@json_option
@click.pass_context
def models_add(ctx: click.Context, provider: str, model: str, tier: str, context_window: int | None,
               max_output: int | None, price_in: float | None, price_out: float | None, best_for: str,
               replace: bool, as_json: bool) -> None:
    """Add MODEL served by PROVIDER; it is routable everywhere built-ins are."""
    added = run_with_service(ctx, lambda s: s.add_user_model(
        provider, model, tier, context_window=context_window, max_output=max_output, input_price=price_in,
        output_price=price_out, best_for=best_for, replace=replace))
    if as_json:
        out.emit_json(model_dict(added, added.provider in _configured_providers(ctx), real_today()))
    else:
        out.console().print(f"{'replaced' if replace else 'added'} {added.provider}:{out.escape(added.model_id)} "
                            f"(canonical {out.escape(added.canonical)}, {out.tier(added.cost_tier.value)} tier; "
                            f"{out.escape(price_words(added))})")


@models.command("update")
@click.argument("provider")
@click.argument("model")
@click.option("--tier", help="Cost tier: low, medium or high.")
@click.option("--context", "context_window", type=int, help="Context window in tokens.")
@click.option("--max-output", type=int, help="Largest reply in tokens.")
@click.option("--price-in", type=float, help="USD per 1M input tokens.")
@click.option("--price-out", type=float, help="USD per 1M output tokens.")
@click.option("--best-for", help="A few words on what it is good at.")
@json_option
@click.pass_context
def models_update(ctx: click.Context, provider: str, model: str, tier: str | None, context_window: int | None,
                  max_output: int | None, price_in: float | None, price_out: float | None, best_for: str | None,
                  as_json: bool) -> None:
    """Change the given fields of a user-added MODEL of PROVIDER; the others are kept."""
    updated, changed = run_with_service(ctx, lambda s: s.update_user_model(
        provider, model, cost_tier=tier, context_window=context_window, max_output=max_output,
        input_price=price_in, output_price=price_out, best_for=best_for))
    if as_json:
        out.emit_json({**model_dict(updated, updated.provider in _configured_providers(ctx), real_today()),
                       "changed": changed})
        return
    name = f"{updated.provider}:{out.escape(updated.model_id)}"
    if not changed:
        out.console().print(f"{name} unchanged: it already has those values")
        return
    words = ", ".join(FIELD_WORDS.get(k, k) for k in changed)
    out.console().print(f"updated {words} of {name}, kept the rest (now {out.tier(updated.cost_tier.value)} tier; "
                        f"{out.escape(price_words(updated))})")


FIELD_WORDS = {"cost_tier": "the tier", "context_window": "the context window", "max_output": "the max output",
               "input_price": "the input price", "output_price": "the output price", "best_for": "best-for"}


def price_words(m: Any) -> str:
    """Where a model's price comes from, for the line `models add` prints."""
    if not m.price_known():
        return "price unknown: the price data has no match; give --price-in and --price-out"
    price = f"${m.input_price:g} / ${m.output_price:g} per 1M tokens"
    if m.price_source in ("user", ""):
        return price
    return f"{price} from {m.price_source}" + (f", as of {m.as_of}" if m.as_of else "") + (
        ", approximate" if m.approx else "")


@models.command("remove")
@click.argument("provider")
@click.argument("model")
@json_option
@click.pass_context
def models_remove(ctx: click.Context, provider: str, model: str, as_json: bool) -> None:
    """Remove a user-added MODEL of PROVIDER."""
    run_with_service(ctx, lambda s: s.remove_user_model(provider, model))
    if as_json:
        out.emit_json({"removed": {"provider": provider.lower(), "model": model}})
    else:
        out.console().print(f"removed {provider.lower()}:{out.escape(model)}")


# status / test ---------------------------------------------------------------------------------------------


@router.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The profile, every task's primary and chain with availability, overrides, providers, and the
    spend against each budget."""
    view, budget_lines = run_with_service(ctx, _status_with_budget)
    if as_json:
        out.emit_json(view)
        return
    con = out.console()
    con.print(out.markup("profile: [bold]{}[/]  [dim]{}[/]", view["profile"], view["description"]))
    con.print(status_table(view, con.width))
    configured = [p for p, info in view["providers"].items() if info["configured"]]
    con.print(f"providers configured: {', '.join(configured) if configured else 'none'}")
    if not configured:
        from ..core.provider_info import no_provider_message

        con.print(out.styled(no_provider_message(), "yellow"))
    for note in view.get("notes", []):
        con.print(out.markup("[yellow]note:[/] {}", note))
    if budget_lines:
        _print_budget(view["budget"], budget_lines)


async def _status_with_budget(service: Any) -> tuple[dict[str, Any], list[Any]]:
    view = await service.status()
    budget = await service.budget_report((await service.get_router_config()).profile)
    return view | {"budget": budget}, await service.budget_lines()


def _print_budget(report: dict[str, Any], lines: list[Any]) -> None:
    from .budget import print_lines

    print_lines(lines, report["over"])
    now = report.get("now")
    if now and now["message"]:
        out.console().print(out.styled(now["message"], "red" if now["level"] == "over" else "yellow"))


def status_table(view: dict[str, Any], width: int) -> Any:
    """Each task's primary, chain and override: four columns when every cell fits on one line, else
    (at 80 columns, say) the task and, under one another, what it routes to and its chain, wrapped
    between models: never a model name cut in two, never a chain cut off."""
    retired = {ref["model"] for ref in view["outdated"] if ref["status"] == "retired"}
    chain_title = "chain (✓ available)" if not out.is_plain() else "chain"
    rows = []
    for name, task_view in view["tasks"].items():
        primary = task_view["primary"]
        override = task_view["override"] or "-"
        if override in retired:
            override += " (retired)"
        rows.append((name, f"{primary['provider']}:{primary['model']}" if primary else "none available",
                     chain_line(task_view["chain"]), override))
    headers = ("task", "primary", chain_title, "override")
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        t = out.table(*headers)
        for row in rows:
            t.add_row(*(out.escape(cell) for cell in row))
        return t
    t = out.table("task", f"primary · override, then the {chain_title}")
    cells = []
    for name, primary, chain, override in rows:
        head = primary + ("" if override == "-" else f" · override {override}")
        cells.append((name, out.escape(f"{head}\n{chain}")))
        t.add_row(*cells[-1])
    return out.keep_words_whole(t, cells, width)


def chain_line(chain: list[dict[str, Any]]) -> str:
    """A task's chain as `router status` shows it: each model it routes to once (a retired one by
    its successor), marked ✓/✗, or "(unavailable)" when piped or with NO_COLOR."""
    links = []
    for entry in chain:
        if entry["stage"] == "tier":
            continue
        flag = ("✓" if entry["available"] else "✗") if not out.is_plain() else (
            "" if entry["available"] else " (unavailable)")
        links.append(f"{entry['resolves_to'] or entry['model']}{flag}")
    return " → ".join(links)


@router.command("test")
@click.argument("query", required=False)
@click.option("--profile", help="Route with this profile instead of the active one.")
@click.option("--task", "force_task", help="Skip classification and route this task.")
@click.option("--explain", is_flag=True, help="Show the signals that decided the task and the runner-up.")
@json_option
@click.pass_context
def test_cmd(ctx: click.Context, query: str | None, profile: str | None, force_task: str | None, explain: bool,
             as_json: bool) -> None:
    """Classify QUERY and show the routing decision with every candidate and why."""
    from .ask import clean_text, read_stdin

    if query is None and sys.stdin is not None and not sys.stdin.isatty():
        query = read_stdin()
    query = clean_text(query or "")
    if not query.strip():
        raise MesoclawError('give a query, e.g. mesoclaw router test "fix this stack trace"')
    classification, decision = run_with_service(
        ctx, lambda s: s.test_route(query, profile=profile, task=force_task))
    view = route_view(classification, decision)
    if as_json:
        out.emit_json(view)
        return
    _print_route(view, decision, forced=bool(force_task), explain=explain)


def route_view(classification: Any, decision: Any) -> dict[str, Any]:
    """`router test --json`: the classification and the decision with every candidate and skip."""
    primary = decision.primary
    return {
        "task": decision.task.value,
        "classified_as": classification.task.value,
        "signals": list(classification.signals),
        "confidence": round(classification.confidence, 3),
        "runner_up": classification.runner_up.value if classification.runner_up else None,
        "scores": {k: round(v, 3) for k, v in classification.scores.items()},
        "profile": decision.profile.value,
        "tokens_needed": decision.tokens_needed,
        "primary": {"provider": primary.provider, "model": primary.model} if primary else None,
        "candidates": [{"provider": c.provider, "model": c.model, "canonical": c.canonical,
                        "cost_tier": c.cost_tier.value} for c in decision.candidates],
        "trace": [{"stage": e.stage, "model": e.name, "provider": e.provider, "provider_model": e.model,
                   "kept": e.kept, "reason": e.reason} for e in decision.trace],
    }


def _print_route(view: dict[str, Any], decision: Any, *, forced: bool, explain: bool) -> None:
    con = out.console()
    forced_note = f" (forced; classifier said {view['classified_as']})" if forced else ""
    con.print(out.markup("task: [bold]{}[/]{}  confidence {:.2f}  profile: {}", view["task"], forced_note,
                         view["confidence"], view["profile"]))
    con.print(f"signals: {out.escape(', '.join(view['signals']) or 'none')}")
    if explain:
        con.print(f"runner-up: {view['runner_up'] or '-'}  scores: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in sorted(view['scores'].items(), key=lambda kv: -kv[1])))
    primary = decision.primary
    con.print(out.markup("primary: {}", primary.label) if primary
              else out.markup("primary: [red]no available model[/]"))
    t = out.table("#", "stage", "model", "provider:model", "decision")
    order = {(c.provider, c.model): i for i, c in enumerate(decision.candidates, 1)}
    for e in decision.trace:
        rank = str(order.get((e.provider, e.model), "")) if e.kept else ""
        where = f"{e.provider}:{e.model}" if e.provider else "-"
        t.add_row(rank, e.stage, out.escape(e.name), out.escape(where),
                  out.escape(e.reason) if not e.kept else ("kept" + (f" ({e.detail})" if e.detail else "")))
    con.print(t)


# export / import / reset -------------------------------------------------------------------------------


@router.command()
@click.argument("file", required=False)
@click.option("--force", is_flag=True, help="Overwrite FILE when it exists (without it, an existing file is refused).")
@json_option
@click.pass_context
def export(ctx: click.Context, file: str | None, force: bool, as_json: bool) -> None:
    """Write the router settings and user models as TOML to FILE (or stdout, also with -). An existing
    FILE is left alone unless --force."""
    import tomli_w

    if file and file != "-" and not force and os.path.lexists(file):
        raise MesoclawError(f"{file} exists: give --force to overwrite it, another name, or - for stdout")
    data = run_with_service(ctx, lambda s: s.export_config())
    if as_json and not file:
        out.emit_json(data)
        return
    text = tomli_w.dumps(data)
    if file == "-":
        file = None
    if file:
        _write_whole(file, text)
        if as_json:
            out.emit_json({"written": file})
        else:
            out.console(stderr=True).print(f"wrote {file}")
    else:
        out.write(out.escape_unsafe(text))  # C1 and bidi as \uXXXX: the same TOML, safe on a terminal


@router.command("import")
@click.argument("file")
@click.option("--replace", is_flag=True,
              help="Replace the router settings and user models whole (says what it removed).")
@json_option
@click.pass_context
def import_cmd(ctx: click.Context, file: str, replace: bool, as_json: bool) -> None:
    """Apply FILE's router settings and user models (- for stdin): only what it names changes, or with
    --replace everything. Checked whole first: a bad file changes nothing (one line per problem, exit 2)."""
    from ..service.config_file import ImportProblems, load_import
    from .main import EXIT_USAGE, ExitCode, say

    data = load_import(_read_import(file), "stdin" if file == "-" else file)
    try:
        summary = run_with_service(ctx, lambda s: s.import_config(data, replace=replace))
    except ImportProblems as exc:
        for problem in exc.problems:
            say(f"{'stdin' if file == '-' else file}: {problem}")
        raise ExitCode(EXIT_USAGE) from None
    if as_json:
        out.emit_json({"imported": file, "replace": replace, **summary.as_dict()})
        return
    con = out.console()
    con.print(out.escape(f"imported {file}" + (" (replacing everything)" if replace else "")
                         + (": " + "; ".join(summary.changed) if summary.changed else "")))
    if summary.removed:
        con.print(out.escape("removed: " + "; ".join(summary.removed)))


def _write_whole(file: str, text: str) -> None:
    """FILE with `text`, or as it was: written beside it and renamed over it (a full disk leaves no
    half-written export)."""
    from pathlib import Path

    from ..settings import write_private

    try:
        write_private(Path(file).absolute(), text, create_folder=False)
    except OSError as exc:
        raise MesoclawError(f"cannot write {file}: {exc.strerror} (it is unchanged)") from None


def _read_import(file: str) -> bytes:
    """At most MAX_IMPORT_BYTES + 1 bytes of FILE (or stdin): a huge file is refused, never read whole."""
    from ..service.config_file import MAX_IMPORT_BYTES
    from .files import read_bounded

    return read_bounded(file, MAX_IMPORT_BYTES + 1, "an export file")


@router.command()
@json_option
@click.pass_context
def reset(ctx: click.Context, as_json: bool) -> None:
    """Back to the balanced profile with no overrides or custom routes (user models are kept)."""
    run_with_service(ctx, lambda s: s.reset())
    if as_json:
        out.emit_json({"profile": "balanced", "task_overrides": {}, "custom_routes": {}})
    else:
        out.console().print("router reset: profile balanced, no overrides, no custom routes")


# refresh / usage -------------------------------------------------------------------------------------


@models.command("refresh")
@click.option("--provider", "only", multiple=True, help="Refresh only this provider (repeatable).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds to wait for each provider.")
@json_option
@click.pass_context
def models_refresh(ctx: click.Context, only: tuple[str, ...], timeout: float, as_json: bool) -> None:
    """Merge each configured provider's live model list: retire what it no longer lists, add what is new (priced).

    Ids that cannot be a model id (control characters, whitespace, empty, over 256 characters) are
    skipped and counted. Exit codes: 0 every provider refreshed; 1 any of them failed (the others are
    refreshed; the lines say which failed and why); 3 no provider is configured."""
    from ..core.model_ids import skipped_note
    from ..core.provider_info import no_provider_message
    from .main import EXIT_NO_PROVIDER, ExitCode
    from .providers import failed_check

    results = run_with_service(ctx, lambda s: s.refresh_models(list(only) or None, timeout=timeout))
    if not results:
        raise ExitCode(EXIT_NO_PROVIDER, no_provider_message())
    if as_json:
        out.emit_json(results)
    else:
        con = out.console()
        for r in results:
            if not r["ok"]:
                con.print(out.markup("{}: [red]failed[/] {}", r["provider"], r["error"] or ""))
                continue
            skipped = skipped_note(r.get("skipped_ids") or {})
            con.print(f"{r['provider']}: {r['models']} listed, {len(r['added'])} new, "
                      f"{len(r['not_listed'])} built-in no longer listed"
                      + (f" ({out.escape(', '.join(r['not_listed']))}: retired, their successors answer)"
                         if r["not_listed"] else "")
                      + (f"; {skipped}" if skipped else ""))
    refreshed = [r["provider"] for r in results if r["ok"]]
    failed_check(results, f"; refreshed: {', '.join(refreshed)}" if refreshed else "; nothing was refreshed")


def parse_since(value: str) -> float:
    import re
    import time

    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", value or "")
    if not match:
        raise MesoclawError(f"--since takes a span like 30m, 12h, 7d or 4w, got '{value}'")
    seconds = int(match[1]) * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[match[2]]
    return time.time() - seconds


@router.command()
@click.option("--since", default="7d", show_default=True, help="How far back: 30m, 12h, 7d, 4w.")
@json_option
@click.pass_context
def usage(ctx: click.Context, since: str, as_json: bool) -> None:
    """Spend by model, profile and task, and savings against the premium profile's primary model."""
    start = parse_since(since)

    async def read(service: Any) -> tuple[dict[str, Any], list[Any]]:
        report = await service.usage_report(start)
        budget = await service.budget_report((await service.get_router_config()).profile)
        return report | {"escalations": await service.escalation_summary(start), "budget": budget}, \
            await service.budget_lines()

    report, budget_lines = run_with_service(ctx, read)
    if as_json:
        out.emit_json(report | {"since": since})
        return
    con = out.console()
    total = report["total"]
    con.print(f"last {since}: {out.plural(total['requests'], 'request')}, {total['input_tokens']:,} in + "
              f"{total['output_tokens']:,} out tokens, {out.usd(total['cost_usd'])}"
              + (f" (+{total['unknown_cost']} of unknown price)" if total["unknown_cost"] else ""))
    for group in ("model", "profile", "task"):
        t = out.table(group, "requests", "tokens in", "tokens out", "cost", title=f"by {group}")
        for key, b in sorted(report[f"by_{group}"].items(), key=lambda kv: -kv[1]["cost_usd"]):
            cost = out.usd(b["cost_usd"]) + (f" +{b['unknown_cost']} unknown" if b["unknown_cost"] else "")
            t.add_row(out.escape(key), str(b["requests"]), f"{b['input_tokens']:,}", f"{b['output_tokens']:,}", cost)
        con.print(t)
    s = report["savings"]
    if s["baseline"]:
        ratio = f" ({s['saved_ratio']:.0%})" if s["saved_ratio"] is not None else ""
        con.print(f"saved {out.usd(s['saved_usd'])}{ratio} against {s['baseline']}: "
                  f"{out.usd(s['baseline_cost_usd'])} vs {out.usd(s['actual_cost_usd'])} actually spent")
    _print_escalations(report["escalations"])
    if budget_lines:
        _print_budget(report["budget"], budget_lines)


def _print_escalations(by_task: dict[str, Any]) -> None:
    """How often each task's first choice was escalated (the app's f6, `ask --escalate`)."""
    if not any(row["escalations"] for row in by_task.values()):
        out.console().print("escalated: none (f6 in the app, `mesoclaw ask --escalate`)")
        return
    t = out.table("task", "first choices", "escalated", "rate", "from → to", title="escalations by task")
    for task, row in by_task.items():
        rate = f"{row['rate']:.1%}" if row["rate"] is not None else "-"
        paths = "; ".join(f"{path} ×{n}" for path, n in row["paths"].items()) or "-"
        t.add_row(task, str(row["replies"]), str(row["escalated"]), rate, out.escape(paths))
    out.console().print(t)


def register(cli: click.Group) -> None:
    cli.add_command(router)
