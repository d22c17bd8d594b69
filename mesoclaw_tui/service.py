"""RouterService: the one async API that the CLI, the TUI, the engine, the scheduler and the server call."""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .core.pricing import baseline_target
from .core.profiles import chain_for, fallback_for
from .core.provider_info import PROVIDERS, provider_info
from .core.registry import BUILTIN_MODELS, Registry, canonical_for
from .core.router import Availability, route
from .core.tokens import estimate_tokens
from .core.types import (
    Classification,
    CostTier,
    MesoclawError,
    RoutableModel,
    RoutingDecision,
    RoutingProfile,
    Skip,
    TaskType,
    TraceEntry,
    parse_profile,
    parse_task,
    parse_tier,
)
from .settings import Settings, display_url, load_settings, resolve_paths
from .store import RouterConfigRow, Store

EXPORT_FORMAT = 1
MAX_TOKENS_LIMIT = 100_000_000  # larger than any context window; guards against typos
MAX_PRICE = 10_000.0  # USD per 1M tokens
CHECK_TTL_S = 900.0  # a live check's model listing feeds routing this long
# Model lists (OpenAI's above all) include models that cannot chat; a refresh must not route to them.
NOT_CHAT = re.compile(
    r"embed|tts|whisper|dall-e|moderation|davinci|babbage|transcribe|audio|realtime|image|search"
    r"|computer-use|sora|rerank|guard|vision-preview|instruct$", re.IGNORECASE)


def tier_for_price(input_price: float | None, provider: str) -> CostTier:
    """A cost tier for a model a provider newly lists, from its input price (USD per 1M tokens)."""
    if provider == "ollama" or (input_price is not None and input_price < 0.6):
        return CostTier.LOW
    if input_price is not None and input_price >= 4.0:
        return CostTier.HIGH
    return CostTier.MEDIUM


@dataclass(frozen=True)
class RouterConfig:
    profile: RoutingProfile
    task_overrides: dict[TaskType, str]
    custom_routes: dict[TaskType, tuple[str, ...]]
    updated_at: str = ""


@dataclass(frozen=True)
class ModelRow:
    model: RoutableModel
    available: bool


@dataclass(frozen=True)
class ChainEntry:
    """One named entry of a task's effective chain, resolved to where it would go."""

    stage: str
    name: str
    provider: str | None
    model: str | None
    available: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "model": self.name, "provider": self.provider,
                "provider_model": self.model, "available": self.available, "reason": self.reason}


def _config_from_row(row: RouterConfigRow) -> RouterConfig:
    try:
        profile = RoutingProfile(row.active_profile)
    except ValueError:
        profile = RoutingProfile.BALANCED  # a hand-edited unknown profile falls back to the default
    overrides = {TaskType(k): v for k, v in row.task_overrides.items() if k in TaskType._value2member_map_}
    routes = {TaskType(k): tuple(v) for k, v in row.custom_routes.items() if k in TaskType._value2member_map_}
    return RouterConfig(profile, overrides, routes, row.updated_at)


class RouterService:
    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self._registry: Registry | None = None
        self._availability: tuple[Any, Availability] | None = None
        self._config: tuple[Any, RouterConfig] | None = None
        self.troubled: set[str] = set()

    @classmethod
    async def open(cls, db: str | os.PathLike[str] | None = None,
                   environ: Mapping[str, str] = os.environ) -> RouterService:
        paths = resolve_paths(db, environ)
        settings = load_settings(paths, environ)
        # An explicit --db names a file; its folder must exist (a typo should not create folders).
        store = await Store.open(paths.db_path, create_dirs=db is None)
        return cls(store, settings)

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> RouterService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # registry and availability ----------------------------------------------------------------

    async def registry(self) -> Registry:
        if self._registry is None:
            rows = await self.store.list_user_models()
            refreshed = await self._refreshed_models()
            self._registry = Registry([*refreshed, *(_user_model(r) for r in rows)])
        return self._registry

    async def _refreshed_models(self) -> list[RoutableModel]:
        """Builtins, corrected by the last `router models refresh` of each provider: models it no longer
        lists are marked, models it newly lists are added. User additions are never touched."""
        states = await self.store.provider_states()
        refreshed = {p for p, st in states.items() if st.get("refreshed_at")}
        if not refreshed:
            return list(BUILTIN_MODELS)
        listing = await self.store.provider_models()
        models: list[RoutableModel] = []
        known: set[tuple[str, str]] = set()
        for model in BUILTIN_MODELS:
            known.add((model.provider, model.model_id))
            listed = {m["model_id"]: m for m in listing.get(model.provider, [])}
            if model.provider in refreshed and model.provider != "ollama" and model.model_id not in listed:
                model = replace(model, status="not listed by provider")
            elif model.provider in refreshed and model.model_id in listed:
                row = listed[model.model_id]
                model = replace(
                    model,
                    context_window=row["context_window"] or model.context_window,
                    max_output=row["max_output"] or model.max_output,
                    input_price=row["input_price"] if row["input_price"] is not None else model.input_price,
                    output_price=row["output_price"] if row["output_price"] is not None else model.output_price,
                )
            models.append(model)
        for provider in refreshed:
            for row in listing.get(provider, []):
                if (provider, row["model_id"]) in known or NOT_CHAT.search(row["model_id"]):
                    continue
                models.append(RoutableModel(
                    provider=provider, model_id=row["model_id"], canonical=canonical_for(provider, row["model_id"]),
                    cost_tier=tier_for_price(row["input_price"], provider), context_window=row["context_window"],
                    max_output=row["max_output"], input_price=row["input_price"], output_price=row["output_price"],
                    best_for="Listed by the provider", source="refresh",
                    as_of=time.strftime("%Y-%m-%d", time.gmtime(row["listed_at"])),
                    approx=row["input_price"] is None,
                ))
        return models

    async def data_version(self) -> int:
        """Changes when another process commits to the database: how long-lived faces notice changes."""
        return await self.store.data_version()

    def invalidate(self) -> None:
        """Forget cached state after another process changed the database."""
        self._registry = None
        self._availability = None
        self._config = None

    async def live_availability(self) -> Availability:
        """Configured providers, less what cooldowns, failed keys, 404s and fresh live checks rule out.

        Cached until the database changes (or the second ticks over, since cooldowns expire with
        time): it is read before every reply."""
        now = time.time()
        stamp = (await self.store.change_stamp(), int(now))
        if self._availability is not None and self._availability[0] == stamp:
            return self._availability[1]
        availability = await self._read_availability(now)
        self._availability = (stamp, availability)
        return availability

    async def _read_availability(self, now: float) -> Availability:
        states = await self.store.provider_states()
        # Providers with any failure on record: only their successes need writing down.
        self.troubled = {p for p, st in states.items()
                         if st.get("failures") or st.get("cooldown_until") or st.get("unusable_until")}
        unavailable = set(await self.store.unavailable_models())
        checked = {p for p, st in states.items()
                   if st.get("last_check_ok") and (st.get("last_check_at") or 0) > now - CHECK_TTL_S}
        if checked:
            listing = await self.store.provider_models()
            registry = await self.registry()
            for provider in checked:
                listed = {m["model_id"] for m in listing.get(provider, [])}
                if listed:
                    # A user's own addition is trusted over the listing (a 404 still marks it).
                    unavailable.update((m.provider, m.model_id) for m in registry.models
                                       if m.provider == provider and m.source != "user"
                                       and m.model_id not in listed)
        return Availability(
            configured=self.settings.configured(),
            unavailable_models=frozenset(unavailable),
            unavailable_providers=frozenset(p for p, st in states.items() if (st.get("unusable_until") or 0) > now),
            cooling=frozenset(p for p, st in states.items() if (st.get("cooldown_until") or 0) > now),
        )

    def route(self, profile: RoutingProfile, task: TaskType, config: RouterConfig, availability: Availability,
              tokens_needed: int, registry: Registry) -> RoutingDecision:
        return route(profile, task, config.task_overrides, config.custom_routes, availability, tokens_needed,
                     registry)

    def endpoint(self, provider: str) -> Any:
        """Where and how to reach a provider. The key goes to this provider's base URL and nowhere else."""
        from .providers import Endpoint

        settings = self.settings.providers[provider]
        return Endpoint(provider, settings.base_url, settings.api_key)

    # the seed's six commands ------------------------------------------------------------------------

    async def get_router_config(self) -> RouterConfig:
        """The router settings; cached until any connection commits (read before every reply)."""
        stamp = await self.store.change_stamp()
        if self._config is not None and self._config[0] == stamp:
            return self._config[1]
        config = _config_from_row(await self.store.read_router_config())
        self._config = (stamp, config)
        return config

    async def set_router_profile(self, profile: str | RoutingProfile) -> RoutingProfile:
        chosen = parse_profile(str(profile))

        def change(row: RouterConfigRow) -> None:
            row.active_profile = chosen.value

        await self.store.update_router_config(change)
        return chosen

    async def cycle_profile(self) -> RoutingProfile:
        """eco -> balanced -> premium -> eco, read and written in one transaction."""
        result: list[RoutingProfile] = []

        def change(row: RouterConfigRow) -> None:
            current = _config_from_row(row).profile
            row.active_profile = current.next().value
            result.append(current.next())

        await self.store.update_router_config(change)
        return result[0]

    async def get_routing_for_task(self, task: str | TaskType, *, tokens_needed: int = 0,
                                   profile: str | RoutingProfile | None = None,
                                   config: RouterConfig | None = None) -> RoutingDecision:
        task = parse_task(str(task))
        config = config or await self.get_router_config()
        chosen = parse_profile(str(profile)) if profile else config.profile
        return route(chosen, task, config.task_overrides, config.custom_routes, await self.live_availability(),
                     tokens_needed, await self.registry())

    async def set_task_model_override(self, task: str | TaskType, model: str) -> str:
        task = parse_task(str(task))
        name = await self.normalise_model_name(model)

        def change(row: RouterConfigRow) -> None:
            row.task_overrides[task.value] = name

        await self.store.update_router_config(change)
        return name

    async def clear_task_override(self, task: str | TaskType) -> bool:
        task = parse_task(str(task))
        removed: list[bool] = []

        def change(row: RouterConfigRow) -> None:
            removed.append(row.task_overrides.pop(task.value, None) is not None)

        await self.store.update_router_config(change)
        return removed[0]

    async def get_available_models_for_routing(self, provider: str | None = None, tier: str | None = None,
                                               available_only: bool = False) -> list[ModelRow]:
        tier_value = parse_tier(tier) if tier else None
        registry = await self.registry()
        availability = await self.live_availability()
        rows = []
        for model in registry.filter(provider, tier_value):
            ok = not model.retired and availability.check(model)[0] is Skip.KEPT
            if ok or not available_only:
                rows.append(ModelRow(model, ok))
        return rows

    # custom routes ---------------------------------------------------------------------------------

    async def set_custom_route(self, task: str | TaskType, models: list[str]) -> list[str]:
        task = parse_task(str(task))
        names = [m.strip() for m in models]
        if any(not n for n in names) and any(names):
            raise MesoclawError("empty entry in the model list (e.g. a doubled comma): give M1,M2,…")
        if not any(names):
            raise MesoclawError("a custom route needs at least one model, e.g. --set gpt-4o,claude-sonnet-4.5")
        names = [await self.normalise_model_name(n) for n in names]

        def change(row: RouterConfigRow) -> None:
            row.custom_routes[task.value] = names

        await self.store.update_router_config(change)
        return names

    async def clear_custom_route(self, task: str | TaskType) -> bool:
        task = parse_task(str(task))
        removed: list[bool] = []

        def change(row: RouterConfigRow) -> None:
            removed.append(row.custom_routes.pop(task.value, None) is not None)

        await self.store.update_router_config(change)
        return removed[0]

    async def normalise_model_name(self, name: str) -> str:
        """The name to store for a model the user typed: its canonical name, or `provider:id` when pinned."""
        if not name.strip():
            raise MesoclawError("empty model name; `mesoclaw router models` lists the valid choices")
        registry = await self.registry()
        routes = registry.require(name)
        provider, sep, _ = name.partition(":")
        if sep and provider.strip().lower() in PROVIDERS:
            return f"{routes[0].provider}:{routes[0].model_id}"
        return routes[0].canonical

    # user models ------------------------------------------------------------------------------------

    async def add_user_model(self, provider: str, model_id: str, tier: str, *, context_window: int | None = None,
                             max_output: int | None = None, input_price: float | None = None,
                             output_price: float | None = None, best_for: str = "") -> RoutableModel:
        row = validate_user_model({
            "provider": provider, "model_id": model_id, "cost_tier": tier, "context_window": context_window,
            "max_output": max_output, "input_price": input_price, "output_price": output_price,
            "best_for": best_for,
        })
        _refuse_builtin(row)
        await self.store.replace_user_models([row])
        self.invalidate()
        return _user_model(row)

    async def remove_user_model(self, provider: str, model_id: str) -> None:
        pid = provider_info(provider).id
        if not await self.store.remove_user_model(pid, model_id.strip()):
            users = [f"{r['provider']}:{r['model_id']}" for r in await self.store.list_user_models()]
            choices = ", ".join(users) if users else "none have been added"
            raise MesoclawError(
                f"no user-added model '{model_id}' for {pid} (user-added models: {choices}; "
                "built-in models cannot be removed)"
            )
        self.invalidate()

    # export / import / reset ------------------------------------------------------------------------

    async def export_config(self) -> dict[str, Any]:
        config = await self.get_router_config()
        models = []
        for row in await self.store.list_user_models():
            entry = {"provider": row["provider"], "model": row["model_id"], "tier": row["cost_tier"]}
            for key in ("context_window", "max_output", "input_price", "output_price"):
                if row[key] is not None:
                    entry[key] = row[key]
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

    async def import_config(self, data: Mapping[str, Any]) -> None:
        """Validate everything first, then replace settings and user models in one transaction."""
        if not isinstance(data, Mapping):
            raise MesoclawError("the file must hold a [router] table and optional [[models]]")
        unknown = set(data) - {"format", "router", "models"}
        if unknown:
            raise MesoclawError(f"unknown top-level key(s) {', '.join(sorted(unknown))} (valid: format, router, models)")
        if data.get("format", EXPORT_FORMAT) != EXPORT_FORMAT or isinstance(data.get("format"), bool):
            raise MesoclawError(f"format must be {EXPORT_FORMAT} (a file from `mesoclaw router export`)")
        if "router" not in data:
            raise MesoclawError("the file has no [router] table: nothing to import "
                                "(write one with `mesoclaw router export`)")
        router = data.get("router", {})
        if not isinstance(router, Mapping) or set(router) - {"profile", "task_overrides", "custom_routes"}:
            raise MesoclawError("[router] takes only profile, task_overrides and custom_routes")
        profile = parse_profile(str(router.get("profile", "balanced")))
        raw_models = data.get("models", [])
        if not isinstance(raw_models, list):
            raise MesoclawError("models must be an array of tables ([[models]])")
        user_rows = []
        for i, entry in enumerate(raw_models, 1):
            if not isinstance(entry, Mapping) or set(entry) - {
                "provider", "model", "tier", "context_window", "max_output", "input_price", "output_price",
                "best_for"} or not {"provider", "model", "tier"} <= set(entry):
                raise MesoclawError(
                    f"models entry {i} needs provider, model and tier (optional: context_window, max_output, "
                    "input_price, output_price, best_for)"
                )
            user_rows.append(validate_user_model({
                "provider": entry["provider"], "model_id": entry["model"], "cost_tier": entry["tier"],
                **{k: entry.get(k) for k in ("context_window", "max_output", "input_price", "output_price")},
                "best_for": entry.get("best_for", ""),
            }))
        seen: set[tuple[str, str]] = set()
        for row in user_rows:
            _refuse_builtin(row)
            if (row["provider"], row["model_id"]) in seen:
                raise MesoclawError(f"models lists {row['provider']}:{row['model_id']} twice")
            seen.add((row["provider"], row["model_id"]))
        registry = Registry([*BUILTIN_MODELS, *(_user_model(r) for r in user_rows)])
        overrides = _mapping(router.get("task_overrides", {}), "task_overrides")
        routes = _mapping(router.get("custom_routes", {}), "custom_routes")
        row = RouterConfigRow(profile.value)
        for task, name in overrides.items():
            if not isinstance(name, str):
                raise MesoclawError(f"task_overrides.{task} must be a model name")
            registry.require(name)
            row.task_overrides[parse_task(task).value] = name
        for task, names in routes.items():
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                raise MesoclawError(f"custom_routes.{task} must be a non-empty list of model names")
            for name in names:
                registry.require(name)
            row.custom_routes[parse_task(task).value] = list(names)
        await self.store.import_all(row, user_rows)
        self.invalidate()

    async def reset(self) -> None:
        """Profile back to balanced, no overrides, no custom routes. User models are kept."""
        await self.store.reset_router_config()

    # live checks -------------------------------------------------------------------------------------

    async def check_providers(self, providers: list[str] | None = None, *, timeout: float = 5.0,
                              refresh: bool = False) -> list[dict[str, Any]]:
        """Ask each configured provider's model-list endpoint (concurrently, short timeout) and store
        the result: it feeds availability for CHECK_TTL_S, and with refresh the registry too."""
        import asyncio

        from .providers import ProviderError, list_models, make_client

        wanted = [provider_info(p).id for p in providers] if providers else [
            p for p, s in self.settings.providers.items() if s.configured]
        async with make_client() as client:
            async def one(pid: str) -> dict[str, Any]:
                settings = self.settings.providers[pid]
                if not settings.configured:
                    return {"provider": pid, "ok": False, "error": "not configured", "ms": 0, "models": None}
                started = time.perf_counter()
                try:
                    listed = await list_models(client, self.endpoint(pid), timeout=timeout)
                    error, ok = None, True
                except ProviderError as exc:
                    listed, error, ok = None, f"{exc.kind}: {settings.scrub(exc.message)}", False
                ms = int((time.perf_counter() - started) * 1000)
                rows = [{"id": m.id, "context_window": m.context_window, "max_output": m.max_output,
                         "input_price": m.input_price, "output_price": m.output_price} for m in listed or []]
                return {"provider": pid, "ok": ok, "error": error, "ms": ms, "models": rows if ok else None}

            results = await asyncio.gather(*(one(p) for p in wanted))
        for result in results:
            if result["error"] != "not configured":
                await self.store.record_check(result["provider"], result["ok"], result["error"], result["ms"],
                                              result["models"], refreshed=refresh)
        self.invalidate()
        return results

    async def refresh_models(self, providers: list[str] | None = None, *, timeout: float = 10.0
                             ) -> list[dict[str, Any]]:
        """Merge each provider's live model list into the registry; report what changed."""
        before = {(m.provider, m.model_id): m for m in (await self.registry()).models}
        results = await self.check_providers(providers, timeout=timeout, refresh=True)
        after = {(m.provider, m.model_id): m for m in (await self.registry()).models}
        for result in results:
            pid = result["provider"]
            result["added"] = sorted(k[1] for k in after if k[0] == pid and k not in before)
            result["not_listed"] = sorted(k[1] for k, m in after.items() if k[0] == pid and m.source == "builtin"
                                          and m.status == "not listed by provider")
            result["models"] = len(result["models"] or [])
        return results

    async def provider_report(self) -> list[dict[str, Any]]:
        now = time.time()
        states = await self.store.provider_states()
        report = []
        for pid, settings in self.settings.providers.items():
            st = states.get(pid, {})
            cooldown = max(0.0, (st.get("cooldown_until") or 0) - now)
            unusable = max(0.0, (st.get("unusable_until") or 0) - now)
            report.append({
                "provider": pid, "name": settings.info.name, "configured": settings.configured,
                "key": settings.masked_key or None, "key_source": settings.key_source or None,
                "base_url": display_url(settings.base_url), "base_url_source": settings.base_url_source,
                "last_check": None if not st.get("last_check_at") else {
                    "at": st["last_check_at"], "ok": bool(st["last_check_ok"]), "error": st["last_check_error"],
                    "ms": st["last_check_ms"]},
                "cooldown_s": round(cooldown, 1) if cooldown else 0,
                "unusable_s": round(unusable, 1) if unusable else 0,
                "last_error": st.get("last_error") if (cooldown or unusable) else None,
            })
        return report

    async def usage_report(self, since: float | None = None) -> dict[str, Any]:
        """Spend by model, profile and task, and savings against the premium profile's primary model."""
        rows = await self.store.usage_rows(since)
        baseline = baseline_target(await self.registry())

        def bucket() -> dict[str, Any]:
            return {"requests": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "unknown_cost": 0,
                    "estimated": 0, "failed": 0}

        groups: dict[str, dict[str, dict[str, Any]]] = {"model": {}, "profile": {}, "task": {}, "source": {}}
        total = bucket()
        baseline_cost = priced_cost = 0.0
        for row in rows:
            keys = {"model": f"{row['provider']}:{row['model']}" if row["provider"] else "(none answered)",
                    "profile": row["profile"] or "-", "task": row["task"] or "-", "source": row["source"]}
            for group, key in keys.items():
                for b in (groups[group].setdefault(key, bucket()),) + ((total,) if group == "model" else ()):
                    b["requests"] += 1
                    b["input_tokens"] += row["input_tokens"] or 0
                    b["output_tokens"] += row["output_tokens"] or 0
                    b["estimated"] += row["estimated"]
                    b["failed"] += row["outcome"] == "failed"
                    if row["cost_usd"] is None:
                        b["unknown_cost"] += row["outcome"] != "failed"
                    else:
                        b["cost_usd"] += row["cost_usd"]
            if row["cost_usd"] is not None and row["baseline_cost_usd"] is not None:
                priced_cost += row["cost_usd"]
                baseline_cost += row["baseline_cost_usd"]
        return {
            "since": since, "total": total, **{f"by_{g}": v for g, v in groups.items()},
            "savings": {
                "baseline": f"the same requests priced at the premium profile's primary model "
                            f"({baseline.provider}:{baseline.model})" if baseline else None,
                "baseline_cost_usd": baseline_cost, "actual_cost_usd": priced_cost,
                "saved_usd": baseline_cost - priced_cost,
                "saved_ratio": (1 - priced_cost / baseline_cost) if baseline_cost else None,
            },
        }

    # views ------------------------------------------------------------------------------------------

    async def effective_chain(self, decision: RoutingDecision) -> list[ChainEntry]:
        """The named entries a task's decision went through (override, custom, chain, fallback, tier)."""
        groups: dict[tuple[str, str], list[TraceEntry]] = {}
        for entry in decision.trace:
            groups.setdefault((entry.stage, entry.name if entry.stage != "tier" else entry.model or ""), []
                              ).append(entry)
        chain = []
        for (stage, _name), entries in groups.items():
            kept = next((e for e in entries if e.kept), None)
            shown = kept or _most_telling(entries)
            # A name already among the candidates (the fallback repeating a chain entry) is as
            # available as that entry.
            available = kept is not None or any(e.outcome is Skip.DUPLICATE for e in entries)
            chain.append(ChainEntry(stage, entries[0].name, shown.provider, shown.model, available,
                                    shown.reason))
        return chain

    async def task_view(self, task: TaskType, config: RouterConfig) -> dict[str, Any]:
        decision = await self.get_routing_for_task(task, config=config)
        primary = decision.primary
        return {
            "task": task.value,
            "profile": config.profile.value,
            "primary": {"provider": primary.provider, "model": primary.model, "canonical": primary.canonical}
            if primary else None,
            "chain": [c.as_dict() for c in await self.effective_chain(decision)],
            "profile_chain": list(chain_for(config.profile, task)),
            "fallback": fallback_for(config.profile),
            "override": config.task_overrides.get(task),
            "custom_route": list(config.custom_routes.get(task, ())) or None,
        }

    async def status(self) -> dict[str, Any]:
        config = await self.get_router_config()
        tasks = {t.value: await self.task_view(t, config) for t in TaskType}
        return {
            "profile": config.profile.value,
            "description": config.profile.description,
            "tasks": tasks,
            "overrides": {t.value: m for t, m in config.task_overrides.items()},
            "custom_routes": {t.value: list(m) for t, m in config.custom_routes.items()},
            "providers": {
                pid: {"configured": s.configured, "key_source": s.key_source, "base_url": display_url(s.base_url)}
                for pid, s in self.settings.providers.items()
            },
            "database": str(self.store.path),
            "notes": await self._status_notes(tasks),
        }

    async def _status_notes(self, tasks: dict[str, dict[str, Any]]) -> list[str]:
        """Warnings worth a glance: a primary model (of the task views just built) that is deprecated
        or retiring."""
        registry = await self.registry()
        notes = []
        for task, view in tasks.items():
            primary = view["primary"]
            model = registry.get(primary["provider"], primary["model"]) if primary else None
            if model and ("deprecated" in model.status or "retire" in model.status):
                notes.append(f"{task} is served by {model.canonical}, which is {model.status}; "
                             f"`mesoclaw router task {task} --set MODEL` picks another")
        return notes

    async def test_route(self, text: str, *, profile: str | None = None, task: str | None = None,
                         previous: TaskType | None = None) -> tuple[Classification, RoutingDecision]:
        from .core.classifier import classify

        classification = classify(text, previous=previous)
        chosen = parse_task(task) if task else classification.task
        decision = await self.get_routing_for_task(chosen, profile=profile, tokens_needed=estimate_tokens(text))
        return classification, decision


def _most_telling(entries: list[TraceEntry]) -> TraceEntry:
    """Of several skipped routes for one name, the reason worth showing (not the duplicate one)."""
    order = [Skip.CONTEXT_TOO_SMALL, Skip.COOLDOWN, Skip.UNAVAILABLE, Skip.RETIRED, Skip.NOT_CONFIGURED,
             Skip.NO_PROVIDER, Skip.DUPLICATE]
    return min(entries, key=lambda e: order.index(e.outcome) if e.outcome in order else len(order))


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MesoclawError(f"{what} must be a table of task = value")
    return value


def validate_user_model(row: dict[str, Any]) -> dict[str, Any]:
    """A user model row, checked: known provider, a model ID, a tier, non-negative numbers."""
    provider = provider_info(str(row["provider"])).id
    model_id = str(row["model_id"] or "").strip()
    if not model_id or any(c.isspace() for c in model_id):
        raise MesoclawError("the model ID must be non-empty and contain no spaces")
    tier = parse_tier(str(row["cost_tier"]))
    out = {"provider": provider, "model_id": model_id, "canonical": canonical_for(provider, model_id),
           "cost_tier": tier.value, "best_for": str(row.get("best_for") or "")}
    for key, kind, limit in (("context_window", int, MAX_TOKENS_LIMIT), ("max_output", int, MAX_TOKENS_LIMIT),
                             ("input_price", float, MAX_PRICE), ("output_price", float, MAX_PRICE)):
        value = row.get(key)
        if value is not None:
            try:
                value = kind(value)
            except (TypeError, ValueError, OverflowError):
                raise MesoclawError(f"{key} must be a number, got {value!r}") from None
            if not math.isfinite(value) or value < 0 or (kind is int and value == 0) or value > limit:
                raise MesoclawError(f"{key} must be a positive number up to {limit:,}, got {value}")
        out[key] = value
    if (out["input_price"] is None) != (out["output_price"] is None):
        raise MesoclawError("give both --price-in and --price-out, or neither (the price is then unknown)")
    return out


def _refuse_builtin(row: Mapping[str, Any]) -> None:
    if any(m.provider == row["provider"] and m.model_id == row["model_id"] for m in BUILTIN_MODELS):
        raise MesoclawError(
            f"{row['provider']}:{row['model_id']} is a built-in model; add a model the registry lacks "
            "(`mesoclaw router models --provider " + row["provider"] + "` lists the built-ins)"
        )


def _user_model(row: Mapping[str, Any]) -> RoutableModel:
    return RoutableModel(
        provider=row["provider"], model_id=row["model_id"], canonical=row["canonical"],
        cost_tier=CostTier(row["cost_tier"]), context_window=row["context_window"],
        max_output=row.get("max_output"), input_price=row["input_price"], output_price=row["output_price"],
        best_for=row.get("best_for") or "User-added", source="user", as_of=str(row.get("created_at") or "")[:10],
    )

