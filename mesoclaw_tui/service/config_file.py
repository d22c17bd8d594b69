"""`mesoclaw router export` / `import`: the TOML document, written and validated. Pure.

An import is validated whole before anything is written (the service then replaces the settings
and the user models in one transaction), so a bad file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.registry import BUILTIN_MODELS, Registry
from ..core.types import MesoclawError, RoutingProfile, TaskType, parse_profile, parse_task
from .models import refuse_builtin, user_model, validate_user_model
from .records import RouterConfig

EXPORT_FORMAT = 1
TOP_KEYS = ("format", "router", "models")
ROUTER_KEYS = ("profile", "task_overrides", "custom_routes")
MODEL_REQUIRED = ("provider", "model", "tier")
MODEL_NUMBERS = ("context_window", "max_output", "input_price", "output_price")
MODEL_KEYS = (*MODEL_REQUIRED, *MODEL_NUMBERS, "best_for")


@dataclass(frozen=True)
class ImportedConfig:
    """A validated import: the router settings and the user models that replace the current ones."""

    profile: RoutingProfile
    task_overrides: dict[TaskType, str]
    custom_routes: dict[TaskType, list[str]]
    models: list[dict[str, Any]]  # user model rows, as validate_user_model returns them


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


def parse_import(data: Any) -> ImportedConfig:
    """Check a whole document; a MesoclawError names the first problem and the valid choices."""
    router = _router_table(data)
    profile = parse_profile(str(router.get("profile", "balanced")))
    models = _user_models(data.get("models", []))
    registry = Registry([*BUILTIN_MODELS, *(user_model(r) for r in models)])
    overrides = _overrides(_mapping(router.get("task_overrides", {}), "task_overrides"), registry)
    routes = _routes(_mapping(router.get("custom_routes", {}), "custom_routes"), registry)
    return ImportedConfig(profile, overrides, routes, models)


def _router_table(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MesoclawError("the file must hold a [router] table and optional [[models]]")
    unknown = set(data) - set(TOP_KEYS)
    if unknown:
        raise MesoclawError(f"unknown top-level key(s) {', '.join(sorted(unknown))} (valid: {', '.join(TOP_KEYS)})")
    if data.get("format", EXPORT_FORMAT) != EXPORT_FORMAT or isinstance(data.get("format"), bool):
        raise MesoclawError(f"format must be {EXPORT_FORMAT} (a file from `mesoclaw router export`)")
    if "router" not in data:
        raise MesoclawError("the file has no [router] table: nothing to import "
                            "(write one with `mesoclaw router export`)")
    router = data["router"]
    if not isinstance(router, Mapping) or set(router) - set(ROUTER_KEYS):
        raise MesoclawError("[router] takes only profile, task_overrides and custom_routes")
    return router


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MesoclawError(f"{what} must be a table of task = value")
    return value


def _user_models(entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        raise MesoclawError("models must be an array of tables ([[models]])")
    rows = [_user_model_row(i, entry) for i, entry in enumerate(entries, 1)]
    seen: set[tuple[str, str]] = set()
    for row in rows:
        refuse_builtin(row)
        if (row["provider"], row["model_id"]) in seen:
            raise MesoclawError(f"models lists {row['provider']}:{row['model_id']} twice")
        seen.add((row["provider"], row["model_id"]))
    return rows


def _user_model_row(index: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or set(entry) - set(MODEL_KEYS) or not set(MODEL_REQUIRED) <= set(entry):
        raise MesoclawError(
            f"models entry {index} needs provider, model and tier (optional: context_window, max_output, "
            "input_price, output_price, best_for)"
        )
    return validate_user_model({
        "provider": entry["provider"], "model_id": entry["model"], "cost_tier": entry["tier"],
        **{k: entry.get(k) for k in MODEL_NUMBERS}, "best_for": entry.get("best_for", ""),
    })


def _overrides(table: Mapping[str, Any], registry: Registry) -> dict[TaskType, str]:
    overrides = {}
    for task, name in table.items():
        if not isinstance(name, str):
            raise MesoclawError(f"task_overrides.{task} must be a model name")
        registry.require(name)
        overrides[parse_task(task)] = name
    return overrides


def _routes(table: Mapping[str, Any], registry: Registry) -> dict[TaskType, list[str]]:
    routes = {}
    for task, names in table.items():
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise MesoclawError(f"custom_routes.{task} must be a non-empty list of model names")
        for name in names:
            registry.require(name)
        routes[parse_task(task)] = list(names)
    return routes
