"""The last exchange of a conversation and its alternatives (regenerated, escalated, edited), and
escalations: where one goes and the record of it (part of RouterService).

Replacing the exchange itself happens when the engine stores the new prompt (a Turn with
`alternative_of`), so a request refused before it is sent replaces nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.types import CostTier, MesoclawError, RoutingProfile, TaskType, parse_profile

if TYPE_CHECKING:
    from ..core.registry import Registry
    from ..core.types import RoutingDecision
    from ..store import Store
    from .escalation import EscalationPlan, Exchange
    from .records import RouterConfig

# The values (escalation.py) are imported by each method: opening the service defines none of them.


class AlternativesMixin:
    """Part of RouterService (which provides the store, the registry and routing)."""

    store: Store

    if TYPE_CHECKING:
        async def registry(self) -> Registry: ...
        async def get_router_config(self) -> RouterConfig: ...
        async def get_routing_for_task(self, task: str | TaskType, *, tokens_needed: int = 0,
                                       profile: str | RoutingProfile | None = None,
                                       config: RouterConfig | None = None) -> RoutingDecision: ...
        async def normalise_model_name(self, name: str) -> str: ...
        async def usage_records(self, since: float | None = None) -> list[Any]: ...

    async def last_exchange(self, conversation_id: int) -> Exchange | None:
        """The conversation's last shown exchange (None: it has no message yet)."""
        from .conversation_records import Message
        from .escalation import Exchange

        rows = await self.store.last_exchange(conversation_id)
        if not rows:
            return None
        prompt = rows[0]
        reply = next((Message.from_row(r) for r in rows[1:] if r["role"] == "assistant"), None)
        profile = next((r["usage_profile"] for r in rows[1:] if r["role"] == "assistant"), None)
        group = prompt["alt_group"]
        prompts = tuple((await self.store.group_prompts([group])).get(group, ())) if group else (prompt["id"],)
        return Exchange(conversation_id, prompt["id"], prompt["content"], prompt["task"], reply, profile, group,
                        prompts)

    async def require_last_exchange(self, conversation_id: int | None) -> Exchange:
        exchange = await self.last_exchange(conversation_id) if conversation_id is not None else None
        if exchange is None:
            raise MesoclawError("there is no message to regenerate yet: send one first")
        return exchange

    async def step_alternative(self, conversation_id: int, step: int) -> Exchange:
        """Show the previous (step -1) or next (+1) alternative of the last exchange; a MesoclawError
        says why not (none, or already the first or last)."""
        exchange = await self.require_last_exchange(conversation_id)
        if exchange.group is None or exchange.count < 2:
            raise MesoclawError("the last reply has no alternatives: regenerate, escalate or edit it to make one")
        index = exchange.position - 1 + step
        if not 0 <= index < exchange.count:
            which = "first" if index < 0 else "last"
            raise MesoclawError(f"this is the {which} alternative ({exchange.position}/{exchange.count})")
        await self.store.show_alternative(conversation_id, exchange.group, exchange.prompts[index])
        shown = await self.last_exchange(conversation_id)
        assert shown is not None
        return shown

    # escalation ------------------------------------------------------------------------------------------

    async def plan_escalation(self, exchange: Exchange, model: str | None = None) -> EscalationPlan:
        """Where re-asking the exchange goes: the named model (picked), or the router's first choice of
        a tier above the one that answered, under the profiles above the reply's (then its own). A
        MesoclawError when there is none: the user picks a model instead."""
        from .escalation import NEXT_TIER, PICKED, EscalationPlan, next_tier, profiles_to_try

        registry = await self.registry()
        reply = exchange.reply
        answered = registry.get(reply.provider, reply.model) if reply and reply.provider and reply.model else None
        task = TaskType((reply.task if reply else None) or exchange.task or TaskType.GENERAL.value)
        config = await self.get_router_config()
        profile = parse_profile(exchange.profile) if exchange.profile else config.profile
        tier = answered.cost_tier if answered else None
        source = {"from_profile": profile.value, "from_provider": reply.provider if reply else None,
                  "from_model": reply.model if reply else None, "from_tier": tier.value if tier else None}
        if model is not None:
            name = await self.normalise_model_name(model)
            routes = registry.resolve(name)
            to_tier = routes[0].cost_tier.value if routes else None
            return EscalationPlan(exchange, task.value, PICKED, **source, to_profile=profile.value, to_model=name,
                                  to_tier=to_tier, to_label=routes[0].label if routes else name)
        decisions = [(p, await self.get_routing_for_task(task, profile=p, config=config))
                     for p in profiles_to_try(profile)]
        found = next_tier(tier, decisions)
        if found is None:
            above = f"above {tier.value}" if tier is not None else "at all"
            raise MesoclawError(f"no model of a tier {above} is available for {task.value}: pick one yourself")
        to_profile, target = found
        info = registry.get(target.provider, target.model)
        name = info.canonical if info is not None and info.canonical else target.label
        return EscalationPlan(exchange, task.value, NEXT_TIER, **source, to_profile=to_profile.value, to_model=name,
                              to_tier=CostTier(target.cost_tier).value, to_label=target.label)

    async def record_escalation(self, plan: EscalationPlan, usage_id: int | None) -> int:
        return await self.store.add_escalation(plan.columns(usage_id))

    async def escalation_summary(self, since: float | None = None) -> dict[str, Any]:
        """Per task: replies, how many were escalated and the rate, and from which model to which."""
        from .escalation import escalation_summary

        return escalation_summary(await self.store.escalation_rows(since), await self.usage_records(since))
