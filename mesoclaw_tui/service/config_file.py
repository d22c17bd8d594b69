"""`mesoclaw router export` / `import`: the TOML document, written and validated. Pure.

The import file is checked against a strict, typed schema before anything is written: exact types
(a bool is not an integer, a float is not an integer, a number is not a string), strings bounded in
length and free of control characters, no unknown keys, and the file itself bounded in size (the
reader never reads past MAX_IMPORT_BYTES). Every violation is one line naming its key, e.g.
`models[2].context_window must be an integer, got true` (models[1] is the first [[models]] table).

A file changes only what it names (`[router] profile = "eco"` alone changes the profile); with
`--replace` it replaces the router settings and the user models whole, and the summary says what
that removed. The service applies it in one transaction, so a bad file changes nothing.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.provider_info import PROVIDERS
from ..core.registry import BUILTIN_MODELS, Registry
from ..core.types import CostTier, MesoclawError, RoutingProfile, TaskType
from .models import MAX_PRICE, MAX_TOKENS_LIMIT, refuse_builtin, user_model, validate_user_model
from .records import RouterConfig

EXPORT_FORMAT = 1
MAX_IMPORT_BYTES = 1024 * 1024  # an export with hundreds of models is a few tens of KB
MAX_NAME = 256  # a model name, a model ID
MAX_TEXT = 500  # best_for
MAX_MODELS = 1000
MAX_CHAIN = 32
MAX_PROBLEMS = 20  # said at most, then how many more
TOP_KEYS = ("format", "router", "models")
ROUTER_KEYS = ("profile", "task_overrides", "custom_routes")
MODEL_REQUIRED = ("provider", "model", "tier")
MODEL_INTEGERS = ("context_window", "max_output")
MODEL_PRICES = ("input_price", "output_price")
MODEL_NUMBERS = (*MODEL_INTEGERS, *MODEL_PRICES)
MODEL_KEYS = (*MODEL_REQUIRED, *MODEL_NUMBERS, "best_for")
TASKS = tuple(t.value for t in TaskType)


class ImportProblems(MesoclawError):
    """An import file that breaks the schema: one line per violation, each naming its key."""

    def __init__(self, problems: list[str]):
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more")
        super().__init__("\n".join(shown))
        self.problems = shown


@dataclass(frozen=True)
class ImportedConfig:
    """A validated import: only what the file names (None / empty where it names nothing)."""

    profile: RoutingProfile | None
    task_overrides: dict[TaskType, str]
    custom_routes: dict[TaskType, list[str]]
    models: list[dict[str, Any]]  # user model rows, as validate_user_model returns them


@dataclass
class ImportSummary:
    """What an import set and (with --replace) removed, as lines for people and JSON."""

    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"changed": self.changed, "removed": self.removed}


# export ------------------------------------------------------------------------------------------------


def export_document(config: RouterConfig, user_models: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    models = []
    for row in user_models:
        entry = {"provider": row["provider"], "model": row["model_id"], "tier": row["cost_tier"]}
        # Prices the price data filled in are not the user's: a later import prices the model afresh.
        priced_by_user = not row.get("price_source")
        entry.update({key: row[key] for key in MODEL_NUMBERS
                      if row[key] is not None and (priced_by_user or not key.endswith("_price"))})
        if row["best_for"]:
            entry["best_for"] = row["best_for"]
        models.append(entry)
    return {
        "format": EXPORT_FORMAT,
        "router": {
            "profile": config.profile.value,
            "task_overrides": {t.value: m for t, m in sorted(config.task_overrides.items())},
            "custom_routes": {t.value: list(m) for t, m in sorted(config.custom_routes.items())},
        },
        "models": models,
    }


# reading the file --------------------------------------------------------------------------------------


def load_import(raw: bytes, name: str) -> dict[str, Any]:
    """The TOML document in `raw` (read with at most MAX_IMPORT_BYTES + 1 bytes); a MesoclawError that
    names the file when it is too large, not UTF-8, not TOML, or nested too deeply."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise MesoclawError(f"{name} is larger than {MAX_IMPORT_BYTES // 1024} KB, the most `router import` "
                            "reads (an export is a few KB): is it the right file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MesoclawError(f"{name} is not UTF-8 text (byte {exc.start}): is it the right file?") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MesoclawError(f"{name} is not valid TOML: {exc}") from None
    except RecursionError:
        raise MesoclawError(f"{name} is nested too deeply to be a mesoclaw export") from None


# the schema --------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    """A value as a problem line shows it: short, TOML-like, no control characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = repr(value[:40]) + ("…" if len(value) > 40 else "")
        return f"the string {text}" if len(value) <= 40 else f"a string of {len(value):,} characters"
    if isinstance(value, list):
        return f"an array of {len(value)}" if value else "an empty array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class _Checker:
    """Collects every violation of the schema, each a line naming its key."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, key: str, what: str, value: Any = None, *, show: bool = True) -> None:
        self.problems.append(f"{key} must be {what}" + (f", got {_shown(value)}" if show else ""))

    def table(self, key: str, value: Any, allowed: Iterable[str] | None) -> dict[str, Any] | None:
        """A table; with `allowed`, each other key is a problem (None: the caller checks the keys)."""
        if not isinstance(value, dict):
            self.fail(key, "a table", value)
            return None
        allowed = tuple(allowed) if allowed is not None else tuple(value)
        for unknown in sorted(set(value) - set(allowed)):
            where = f"{key}.{_name(unknown)}" if key else _name(unknown)
            self.problems.append(f"{where} is not a known key (valid: {', '.join(allowed)})")
        return value

    def name(self, key: str, value: Any, choices: Iterable[str] | None = None) -> str | None:
        """A string that names something: non-empty, bounded, no control characters, from `choices`."""
        if not isinstance(value, str):
            self.fail(key, "a string", value)
            return None
        if not value.strip() or len(value) > MAX_NAME:
            self.fail(key, f"a non-empty string of at most {MAX_NAME} characters", value)
            return None
        if _has_controls(value):
            self.fail(key, "free of control characters", value, show=False)
            return None
        if choices is not None:
            choices = tuple(choices)
            if value.strip().lower() not in choices:
                self.fail(key, f"one of {', '.join(choices)}", value)
                return None
            return value.strip().lower()
        return value.strip()

    def integer(self, key: str, value: Any, limit: int) -> int | None:
        if type(value) is not int:
            self.fail(key, "an integer", value)
        elif not 0 < value <= limit:
            self.fail(key, f"a positive integer up to {limit:,}", value)
        else:
            return value
        return None

    def price(self, key: str, value: Any) -> float | None:
        if type(value) not in (int, float):
            self.fail(key, "a number", value)
        elif not math.isfinite(value) or not 0 <= value <= MAX_PRICE:
            self.fail(key, f"a number from 0 to {MAX_PRICE:,.0f} (USD per 1M tokens)", value)
        else:
            return float(value)
        return None


def _has_controls(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 for c in text)


def _name(key: str) -> str:
    """A key from the file as a problem line names it (bounded, no control characters)."""
    return key[:40] if not _has_controls(key) else repr(key[:40])


def parse_import(data: Any, registry: Registry | None = None) -> ImportedConfig:
    """Check a whole document; ImportProblems lists every violation. Model names in overrides and
    routes must be known to `registry` (default: the built-ins) or be a model the file adds."""
    check = _Checker()
    document = check.table("", data, TOP_KEYS) if isinstance(data, dict) else None
    if document is None:
        raise ImportProblems(check.problems or ["the file must hold a [router] table and/or [[models]] tables"])
    if "format" in document and (type(document["format"]) is not int or document["format"] != EXPORT_FORMAT):
        check.fail("format", f"{EXPORT_FORMAT} (a file from `mesoclaw router export`)", document["format"])
    if not set(document) - {"format"}:
        check.problems.append("the file names nothing to import: give a [router] table and/or [[models]] "
                              "(write one with `mesoclaw router export`)")
    models = _models(check, document.get("models", []))
    router = check.table("router", document.get("router", {}), ROUTER_KEYS) or {}
    profile = check.name("router.profile", router["profile"], [p.value for p in RoutingProfile]) if "profile" in router else None
    known = Registry([*(registry.models if registry else BUILTIN_MODELS), *(user_model(r) for r in models)])
    overrides = _overrides(check, router.get("task_overrides", {}), known)
    routes = _routes(check, router.get("custom_routes", {}), known)
    if check.problems:
        raise ImportProblems(check.problems)
    return ImportedConfig(RoutingProfile(profile) if profile else None, overrides, routes, models)


def _models(check: _Checker, entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        check.fail("models", "an array of tables ([[models]])", entries)
        return []
    if len(entries) > MAX_MODELS:
        check.fail("models", f"at most {MAX_MODELS} tables", len(entries))
        return []
    rows, seen = [], set()
    for index, entry in enumerate(entries, 1):
        row = _model(check, f"models[{index}]", entry)
        if row is None:
            continue
        where = f"{row['provider']}:{row['model_id']}"
        if where in seen:
            check.problems.append(f"models[{index}] lists {where} twice")
        seen.add(where)
        rows.append(row)
    return rows


def _model(check: _Checker, key: str, entry: dict[str, Any]) -> dict[str, Any] | None:
    before = len(check.problems)
    check.table(key, entry, MODEL_KEYS)
    for name in MODEL_REQUIRED:
        if name not in entry:
            check.problems.append(f"{key}.{name} is missing (a model needs provider, model and tier)")
    provider = check.name(f"{key}.provider", entry["provider"], PROVIDERS) if "provider" in entry else None
    model = check.name(f"{key}.model", entry["model"]) if "model" in entry else None
    if model is not None and any(c.isspace() for c in model):
        check.fail(f"{key}.model", "a model ID without spaces", model)
    if "tier" in entry:
        check.name(f"{key}.tier", entry["tier"], [t.value for t in CostTier])
    _model_numbers(check, key, entry)
    if len(check.problems) > before or provider is None or model is None:
        return None
    try:
        row = validate_user_model({"provider": provider, "model_id": model, "cost_tier": entry["tier"],
                                   **{k: entry.get(k) for k in MODEL_NUMBERS}, "best_for": entry.get("best_for", "")})
        refuse_builtin(row)
    except MesoclawError as exc:
        check.problems.append(f"{key}: {exc}")
        return None
    return row


def _model_numbers(check: _Checker, key: str, entry: dict[str, Any]) -> None:
    """The numbers and the note of one [[models]] table."""
    for name in MODEL_INTEGERS:
        if name in entry:
            check.integer(f"{key}.{name}", entry[name], MAX_TOKENS_LIMIT)
    for name in MODEL_PRICES:
        if name in entry:
            check.price(f"{key}.{name}", entry[name])
    if ("input_price" in entry) != ("output_price" in entry):
        check.problems.append(f"{key} needs both input_price and output_price, or neither")
    best_for = entry.get("best_for", "")
    if not isinstance(best_for, str) or len(best_for) > MAX_TEXT or _has_controls(best_for):
        check.fail(f"{key}.best_for", f"a string of at most {MAX_TEXT} characters without control characters",
                   best_for)


def _task(check: _Checker, key: str, task: str) -> TaskType | None:
    if task not in TASKS:
        check.problems.append(f"{key}.{_name(task)}: unknown task '{_name(task)}' (choose one of: {', '.join(TASKS)})")
        return None
    return TaskType(task)


def _known(check: _Checker, key: str, name: str, registry: Registry) -> bool:
    try:
        registry.require(name)
    except MesoclawError as exc:
        check.problems.append(f"{key}: {exc}")
        return False
    return True


def _overrides(check: _Checker, table: Any, registry: Registry) -> dict[TaskType, str]:
    overrides: dict[TaskType, str] = {}
    for task, value in (check.table("router.task_overrides", table, None) or {}).items():
        key = f"router.task_overrides.{_name(task)}"
        name = check.name(key, value)
        chosen = _task(check, "router.task_overrides", task)
        if name is not None and chosen is not None and _known(check, key, name, registry):
            overrides[chosen] = name
    return overrides


def _routes(check: _Checker, table: Any, registry: Registry) -> dict[TaskType, list[str]]:
    routes: dict[TaskType, list[str]] = {}
    for task, value in (check.table("router.custom_routes", table, None) or {}).items():
        key = f"router.custom_routes.{_name(task)}"
        chosen = _task(check, "router.custom_routes", task)
        if not isinstance(value, list) or not 0 < len(value) <= MAX_CHAIN:
            check.fail(key, f"an array of 1 to {MAX_CHAIN} model names", value)
            continue
        names = [check.name(f"{key}[{i}]", v) for i, v in enumerate(value, 1)]
        if chosen is not None and all(n is not None for n in names):
            if all(_known(check, key, n, registry) for n in names if n is not None):
                routes[chosen] = [n for n in names if n is not None]
    return routes


# applying it -------------------------------------------------------------------------------------------


def apply_import(row: Any, imported: ImportedConfig, *, replace: bool) -> ImportSummary:
    """Change a RouterConfigRow (profile, task_overrides, custom_routes) as the import says: what the
    file names, or with replace everything (the profile back to balanced when the file names none)."""
    summary = ImportSummary()
    if replace:
        for task, model in sorted(row.task_overrides.items()):
            if task not in {t.value for t in imported.task_overrides}:
                summary.removed.append(f"task override {task} = {model}")
        for task, chain in sorted(row.custom_routes.items()):
            if task not in {t.value for t in imported.custom_routes}:
                summary.removed.append(f"custom route {task} = {', '.join(chain)}")
        row.task_overrides, row.custom_routes = {}, {}
        profile = imported.profile or RoutingProfile.BALANCED
    else:
        profile = imported.profile
    if profile is not None:
        row.active_profile = profile.value
        summary.changed.append(f"profile {profile.value}")
    for task, model in sorted(imported.task_overrides.items()):
        row.task_overrides[task.value] = model
        summary.changed.append(f"task override {task.value} = {model}")
    for task, chain in sorted(imported.custom_routes.items()):
        row.custom_routes[task.value] = list(chain)
        summary.changed.append(f"custom route {task.value} = {', '.join(chain)}")
    summary.changed += [f"user model {m['provider']}:{m['model_id']}" for m in imported.models]
    return summary
