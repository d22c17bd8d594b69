"""Provider health: live checks, the report `mesoclaw providers` prints, and what replies record.

Every error text that leaves here has been through the provider's `scrub`, so neither a key nor a
password inside a base URL reaches a terminal, a job's output or the database.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..core.model_ids import model_id_problem, skipped_ids
from ..core.provider_info import provider_info
from ..core.types import real_today
from ..settings import Settings, display_url
from .models import priced_listing

if TYPE_CHECKING:
    from ..providers import Endpoint
    from ..store import Store
    from .conversation_records import ProviderFailure


class HealthMixin:
    """Part of RouterService (which provides `store`, `settings` and `invalidate`)."""

    store: Store
    settings: Settings

    if TYPE_CHECKING:
        def invalidate(self) -> None: ...

    def endpoint(self, provider: str) -> Endpoint:
        """Where and how to reach a provider. The key goes to this provider's base URL and nowhere else."""
        from ..providers import Endpoint

        settings = self.settings.providers[provider]
        return Endpoint(provider, settings.base_url, settings.api_key)

    async def check_providers(self, providers: list[str] | None = None, *, timeout: float = 5.0,
                              refresh: bool = False, client: Any = None) -> list[dict[str, Any]]:
        """Ask each configured provider's model-list endpoint (concurrently, short timeout) and store
        the result: it feeds availability for CHECK_TTL_S, and with refresh the registry too.
        `client` reuses an open HTTP client (the scheduler's); otherwise one is made for the call."""
        import asyncio

        from ..providers import make_client

        wanted = [provider_info(p).id for p in providers] if providers else [
            p for p, s in self.settings.providers.items() if s.configured]
        if client is None:
            async with make_client() as own:
                results = await asyncio.gather(*(self._check_one(own, p, timeout) for p in wanted))
        else:
            results = await asyncio.gather(*(self._check_one(client, p, timeout) for p in wanted))
        for result in results:
            if result["error"] != "not configured":
                await self.store.record_check(result["provider"], result["ok"], result["error"], result["ms"],
                                              result["models"], refreshed=refresh)
        self.invalidate()
        return list(results)

    async def _check_one(self, client: Any, pid: str, timeout: float) -> dict[str, Any]:
        from ..providers import ProviderError, list_models

        settings = self.settings.providers[pid]
        if not settings.configured:
            return {"provider": pid, "ok": False, "error": "not configured", "ms": 0, "models": None,
                    "skipped_ids": {}}
        started = time.perf_counter()
        try:
            listed = await list_models(client, self.endpoint(pid), timeout=timeout)
        except ProviderError as exc:
            ms = int((time.perf_counter() - started) * 1000)
            return {"provider": pid, "ok": False, "error": f"{exc.kind}: {settings.scrub(exc.message)}", "ms": ms,
                    "models": None, "skipped_ids": {}}
        ms = int((time.perf_counter() - started) * 1000)
        # Ids that cannot be one (control characters, whitespace, empty, huge) are dropped and counted.
        skipped = skipped_ids(m.id for m in listed)
        rows = [{"id": m.id, "context_window": m.context_window, "max_output": m.max_output,
                 "input_price": m.input_price, "output_price": m.output_price}
                for m in listed if not skipped or model_id_problem(m.id) is None]
        return {"provider": pid, "ok": True, "error": None, "ms": ms, "models": priced_listing(pid, rows, real_today()),
                "skipped_ids": dict(skipped)}

    async def provider_report(self) -> list[dict[str, Any]]:
        """Each provider: configured, key (masked) and its source, base URL, last check, cooldown."""
        now = time.time()
        states = await self.store.provider_states()
        return [_provider_line(pid, settings, states.get(pid, {}), now)
                for pid, settings in self.settings.providers.items()]

    # what replies record -------------------------------------------------------------------------

    async def record_provider_failure(self, provider: str, error: str, *, cooldown_s: float | None = None,
                                      unusable_s: float | None = None) -> ProviderFailure:
        """Count a failure; cooldown_s None backs off from the failure count (30 s doubling, 10 min cap)."""
        from .conversation_records import ProviderFailure

        result = await self.store.record_provider_failure(provider, error, cooldown_s=cooldown_s,
                                                          unusable_s=unusable_s)
        return ProviderFailure(result["failures"], result["cooldown_s"])

    async def record_provider_success(self, provider: str) -> None:
        """Clears a provider's failures, cooldown and unusable mark (a no-op when it has none)."""
        await self.store.record_provider_success(provider)

    async def mark_model_unavailable(self, provider: str, model_id: str, reason: str, for_s: float) -> None:
        """A model the provider answered 404 for: skipped for `for_s` seconds."""
        await self.store.mark_model_unavailable(provider, model_id, reason, for_s)


def _provider_line(pid: str, settings: Any, st: dict[str, Any], now: float) -> dict[str, Any]:
    cooldown = max(0.0, (st.get("cooldown_until") or 0) - now)
    unusable = max(0.0, (st.get("unusable_until") or 0) - now)
    return {
        "provider": pid, "name": settings.info.name, "configured": settings.configured,
        "key": settings.masked_key or None, "key_source": settings.key_source or None,
        "base_url": display_url(settings.base_url), "base_url_source": settings.base_url_source,
        # Scrubbed when written; scrubbed again here for rows an older mesoclaw wrote, or written
        # before the base URL (and so the password to look for) changed.
        "last_check": None if not st.get("last_check_at") else {
            "at": st["last_check_at"], "ok": bool(st["last_check_ok"]),
            "error": _scrubbed(settings, st["last_check_error"]), "ms": st["last_check_ms"]},
        "cooldown_s": round(cooldown, 1) if cooldown else 0,
        "unusable_s": round(unusable, 1) if unusable else 0,
        "last_error": _scrubbed(settings, st.get("last_error")) if (cooldown or unusable) else None,
    }


def _scrubbed(settings: Any, text: str | None) -> str | None:
    return settings.scrub(text) if text else text
