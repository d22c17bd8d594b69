"""RouterService: the one async API that the CLI, the TUI, the engine, the scheduler and the server call.

It owns the caches (registry, availability, router settings) and the store; what it does is split by
reason to change into the parts beside it: conversations and usage, jobs and the scheduler lease,
provider health, read-only views, and the pure modules (models, availability, config_file, usage)
that are tested without a database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.provider_info import PROVIDERS, provider_info
from ..core.registry import BUILTIN_MODELS, Registry
from ..core.router import Availability, route
from ..core.types import (
    MesoclawError,
    RoutableModel,
    RoutingDecision,
    RoutingProfile,
    Skip,
    TaskType,
    parse_profile,
    parse_task,
    parse_tier,
    real_today,
)
from ..settings import Settings, load_settings, resolve_paths
from ..store import RouterConfigRow, Store
from . import availability as avail
from .agent_steps import AgentStepsMixin
from .alternatives import AlternativesMixin
from .app_state import AppStateMixin
from .budgets import BudgetsMixin
from .chats import ChatsMixin
from .conversations import ConversationsMixin
from .health import HealthMixin
from .jobs import JobsMixin
from .models import (
    NOT_LISTED,
    already_added,
    merged_models,
    no_such_user_model,
    priced_user_model,
    refuse_builtin,
    updated_user_model,
    user_model,
    validate_user_model,
)
from .presets import PresetsMixin
from .records import ModelRow, RouteChange, RouterConfig
from .views import ViewsMixin

if TYPE_CHECKING:
    from .config_file import ImportSummary
    from .conversation_records import ReplyMessage, UsageRecord
    from .reply_writer import ReplyWriter
    from .usage import UsageReport


def _local_day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(timestamp))


def config_from_row(row: RouterConfigRow) -> RouterConfig:
    try:
        profile = RoutingProfile(row.active_profile)
    except ValueError:
        profile = RoutingProfile.BALANCED  # a hand-edited unknown profile falls back to the default
    overrides = {TaskType(k): v for k, v in row.task_overrides.items() if k in TaskType._value2member_map_}
    routes = {TaskType(k): tuple(v) for k, v in row.custom_routes.items() if k in TaskType._value2member_map_}
    return RouterConfig(profile, overrides, routes, row.updated_at)


class RouterService(ConversationsMixin, ChatsMixin, AppStateMixin, JobsMixin, HealthMixin, ViewsMixin,
                    AgentStepsMixin, PresetsMixin, AlternativesMixin, BudgetsMixin):
    def __init__(self, store: Store, settings: Settings):
        self.store = store  # the service's own: nothing outside service/ and store/ reaches into it
        self.settings = settings
        self._registry: Registry | None = None
        self._availability: tuple[Any, Availability] | None = None
        self._config: tuple[Any, RouterConfig] | None = None
        self.troubled: set[str] = set()  # providers with a failure on record (their successes are written)
        self._writer: ReplyWriter | None = None
        self._seen_stamp: tuple[float, tuple[int, int]] | None = None  # (monotonic time, change stamp)

    @classmethod
    async def open(cls, db: str | os.PathLike[str] | None = None,
                   environ: Mapping[str, str] = os.environ) -> RouterService:
        paths = resolve_paths(db, environ)
        settings = load_settings(paths, environ)
        # An explicit --db names a file; its folder must exist (a typo should not create folders).
        store = await Store.open(paths.db_path, create_dirs=db is None)
        service = cls(store, settings)
        service.environ = environ  # read again when config.toml changes (reload_settings)
        return service

    async def close(self) -> None:
        await self.flush_replies()
        await self.store.close()

    def record_reply_later(self, usage: UsageRecord, message: ReplyMessage | None = None) -> None:
        """record_reply off the caller's path (reply_writer.py): for replies whose row ids nobody needs."""
        if self._writer is None:
            from .reply_writer import ReplyWriter

            self._writer = ReplyWriter(self.store)
        self._writer.add(usage, message)

    async def flush_replies(self) -> None:
        """Until every reply given to record_reply_later is written."""
        if self._writer is not None:
            await self._writer.flush()

    async def __aenter__(self) -> RouterService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def database_path(self) -> str:
        return str(self.store.path)

    # registry and availability ----------------------------------------------------------------

    async def registry(self) -> Registry:
        if self._registry is None:
            rows = await self.store.list_user_models()
            refreshed = await self._refreshed_models()
            self._registry = Registry([*refreshed, *(user_model(r) for r in rows)])
        return self._registry

    async def _refreshed_models(self) -> list[RoutableModel]:
        """Builtins, corrected by the last `router models refresh` of each provider."""
        states = await self.store.provider_states()
        refreshed = {p: _local_day(st["refreshed_at"]) for p, st in states.items() if st.get("refreshed_at")}
        if not refreshed:
            return list(BUILTIN_MODELS)
        return merged_models(BUILTIN_MODELS, refreshed, await self.store.provider_models(), real_today())

    async def data_version(self) -> int:
        """Changes when another process commits to the database: how long-lived faces notice changes."""
        return await self.store.data_version()

    def invalidate(self) -> None:
        """Forget cached state after another process changed the database."""
        self._registry = None
        self._availability = None
        self._config = None

    async def routing_state(self, max_age: float = 0.0) -> tuple[RouterConfig, Availability]:
        """The router settings and the availability for one reply, with one look at whether the
        database changed (each look is a trip to the database's thread).

        `max_age`: seconds a change made by *another* process may take to be seen; a look that recent
        is used again, sparing the request the trip. This process's own changes are seen at once."""
        now = time.monotonic()
        seen = self._seen_stamp
        if seen is not None and now - seen[0] < max_age and seen[1][1] == self.store.commits:
            stamp = seen[1]
        else:
            stamp = await self.store.change_stamp()
            self._seen_stamp = (now, stamp)
        return await self.get_router_config(stamp), await self.live_availability(stamp)

    async def live_availability(self, change_stamp: tuple[int, int] | None = None) -> Availability:
        """Configured providers, less what cooldowns, failed keys, 404s and fresh live checks rule out.

        Cached until the database changes (or the second ticks over, since cooldowns expire with
        time): it is read before every reply. `change_stamp`: the store's, when the caller just read it."""
        now = time.time()
        stamp = (change_stamp or await self.store.change_stamp(), int(now))
        if self._availability is not None and self._availability[0] == stamp:
            return self._availability[1]
        availability = await self._read_availability(now)
        self._availability = (stamp, availability)
        return availability

    async def _read_availability(self, now: float) -> Availability:
        states = await self.store.provider_states()
        self.troubled = avail.troubled_providers(states)
        unavailable = set(await self.store.unavailable_models())
        checked = avail.freshly_checked(states, now)
        if checked:
            models = (await self.registry()).models
            unavailable |= avail.unlisted_models(checked, await self.store.provider_models(), models)
        return avail.availability_from(self.settings.configured(), states, unavailable, now)

    def route(self, profile: RoutingProfile, task: TaskType, config: RouterConfig, availability: Availability,
              tokens_needed: int, registry: Registry) -> RoutingDecision:
        return route(profile, task, config.task_overrides, config.custom_routes, availability, tokens_needed,
                     registry)

    # the seed's six commands ------------------------------------------------------------------------

    async def get_router_config(self, change_stamp: tuple[int, int] | None = None) -> RouterConfig:
        """The router settings; cached until any connection commits (read before every reply).
        `change_stamp`: the store's, when the caller just read it."""
        stamp = change_stamp or await self.store.change_stamp()
        if self._config is not None and self._config[0] == stamp:
            return self._config[1]
        config = config_from_row(await self.store.read_router_config())
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
            current = config_from_row(row).profile
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

    async def set_custom_route(self, task: str | TaskType, models: list[str]) -> RouteChange:
        """Save TASK's custom route, unless it changes nothing: the same route as stored writes nothing,
        and the active profile's own chain is no custom route at all (one that was there is removed), so
        the task keeps following the profile. The result says which happened."""
        from ..core.profiles import chain_for

        task = parse_task(str(task))
        names = [m.strip() for m in models]
        if any(not n for n in names) and any(names):
            raise MesoclawError("empty entry in the model list (e.g. a doubled comma): give M1,M2,…")
        if not any(names):
            raise MesoclawError("a custom route needs at least one model, e.g. --set gpt-4o,claude-sonnet-4.5")
        names = [await self.normalise_model_name(n) for n in names]
        profile_chains = {p: [await self.normalise_model_name(n) for n in chain_for(p, task)] for p in RoutingProfile}
        done: list[RouteChange] = []

        def change(row: RouterConfigRow) -> None:
            profile = config_from_row(row).profile
            before = row.custom_routes.get(task.value)
            if names == profile_chains[profile]:
                outcome = "cleared" if row.custom_routes.pop(task.value, None) is not None else "profile"
            else:
                outcome = "unchanged" if before == names else "saved"
                row.custom_routes[task.value] = names
            done.append(RouteChange(task, profile, tuple(names), outcome))

        await self.store.update_router_config(change)
        return done[0]

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

    async def add_user_model(self, provider: str, model_id: str, tier: str, *,
                             context_window: int | str | None = None, max_output: int | str | None = None,
                             input_price: float | str | None = None, output_price: float | str | None = None,
                             best_for: str = "", replace: bool = False) -> RoutableModel:
        """A model the registry lacks; one added before is refused unless `replace` (then every field is
        the given one). Numbers may come as typed text (the app's form): they are checked here, and a MesoclawError
        names what is wrong. Without prices, the price data's price is used where it matches (marked
        as such); the price is unknown only when nothing matches."""
        row = validate_user_model({
            "provider": provider, "model_id": model_id, "cost_tier": tier, "context_window": context_window,
            "max_output": max_output, "input_price": input_price, "output_price": output_price,
            "best_for": best_for,
        })
        refuse_builtin(row)
        row = priced_user_model(row, real_today())

        def add(existing: dict[str, Any] | None) -> dict[str, Any]:
            if existing is not None and not replace:
                raise MesoclawError(already_added(row["provider"], row["model_id"]))
            return row

        await self.store.change_user_model(row["provider"], row["model_id"], add)
        self.invalidate()
        return user_model(row)

    async def update_user_model(self, provider: str, model_id: str, **given: Any) -> tuple[RoutableModel, list[str]]:
        """Change only the given fields (cost_tier, context_window, max_output, input_price, output_price,
        best_for; None: not given) of a user-added model. Returns it and the fields that changed (none:
        nothing was written). Prices given are the user's; the others keep their source."""
        pid = provider_info(provider).id
        mid = model_id.strip()
        given = {k: v for k, v in given.items() if v is not None}
        if not given:
            raise MesoclawError("nothing to update: give --tier, --context, --max-output, --price-in, --price-out "
                                "or --best-for")
        users = [f"{r['provider']}:{r['model_id']}" for r in await self.store.list_user_models()]
        changed: list[str] = []

        def update(existing: dict[str, Any] | None) -> dict[str, Any] | None:
            if existing is None:
                raise MesoclawError(no_such_user_model(pid, mid, users))
            row, fields = updated_user_model(existing, given)
            changed.extend(fields)
            return row if fields else None

        await self.store.change_user_model(pid, mid, update)
        self.invalidate()
        model = (await self.registry()).require(f"{pid}:{mid}")[0]
        return model, changed

    async def remove_user_model(self, provider: str, model_id: str) -> None:
        pid = provider_info(provider).id
        if not await self.store.remove_user_model(pid, model_id.strip()):
            users = [f"{r['provider']}:{r['model_id']}" for r in await self.store.list_user_models()]
            raise MesoclawError(no_such_user_model(pid, model_id, users) + "; built-in models cannot be removed")
        self.invalidate()

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
                                          and m.status == NOT_LISTED)
            result["models"] = len(result["models"] or [])
        return results

    # export / import / reset ------------------------------------------------------------------------

    async def export_config(self) -> dict[str, Any]:
        from .config_file import export_document

        return export_document(await self.get_router_config(), await self.store.list_user_models())

    async def import_config(self, data: Mapping[str, Any], *, replace: bool = False) -> ImportSummary:
        """Validate everything first (config_file.parse_import), then apply it in one transaction: what
        the file names, or with replace the whole router settings and user models. Says what changed
        and what was removed."""
        from .config_file import apply_import, parse_import

        registry = await self.registry()
        if replace:  # the user models in the database are about to go: names must not lean on them
            registry = Registry([m for m in registry.models if m.source != "user"])
        imported = parse_import(data, registry)
        today = real_today()
        models = [priced_user_model(m, today) for m in imported.models]
        summaries: list[ImportSummary] = []
        removed = await self.store.import_all(
            lambda row: summaries.append(apply_import(row, imported, replace=replace)), models, replace=replace)
        self.invalidate()
        summary = summaries[-1]
        summary.removed += [f"user model {provider}:{model_id}" for provider, model_id in removed]
        return summary

    async def reset(self) -> None:
        """Profile back to balanced, no overrides, no custom routes. User models are kept."""
        await self.store.reset_router_config()

    # usage ------------------------------------------------------------------------------------------

    async def usage_summary(self, since: float | None = None) -> UsageReport:
        """Spend by model, profile, task and source, and savings against the premium profile's primary model."""
        from ..core.pricing import baseline_target
        from .usage import summarise_usage

        return summarise_usage(await self.usage_records(since), baseline_target(await self.registry()), since)

    async def usage_report(self, since: float | None = None) -> dict[str, Any]:
        """usage_summary as JSON-ready data (what `router usage --json` prints)."""
        return (await self.usage_summary(since)).as_dict()
