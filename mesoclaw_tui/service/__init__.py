"""The service layer: RouterService, the one async API the faces (tui, cli, server, scheduler) and the
engine call, and the dataclasses it returns. Nothing outside this package and `store/` touches the store.

    router_service  RouterService: caches, router settings, registry, availability, import/export, usage
    conversations   conversations, messages and the usage row of each reply (part of RouterService)
    agent_steps     an agent run's steps and their tool calls in its conversation (part of RouterService)
    jobs            scheduled jobs, their runs, the scheduler lease and claims (part of RouterService)
    health          live provider checks, the providers report, failures replies record (part of it)
    views           what `router status` / `router test` and the router screen show (part of it)
    chats           search across conversations, a conversation's cost, export and import (part of it)
    app_state       the app's preferences, settings re-read, a provider set up (part of it)
    presets         presets, and what a conversation keeps: its system prompt, a preset's settings (part of it)
    alternatives    the last exchange, its alternatives, escalations (part of it)
    budgets         budgets (config.toml [budget]), the spend of the day and month, the verdict (part of it)
    records, conversation_records, job_records, chat_records, agent_records, preset_records
                    the dataclasses handed out
    models, availability, config_file, usage     pure helpers, tested without a database
    search, chat_file                            pure: search queries and quotes; a conversation as a file

Names are loaded on first use (PEP 562): the app imports this package on its way to showing the
profile, and most of these dataclasses are not needed for that.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "RouterService": "router_service",
    "RouterConfig": "records", "ModelRow": "records", "RouteChange": "records", "ChainEntry": "records",
    "Conversation": "conversation_records", "Message": "conversation_records",
    "TranscriptEntry": "conversation_records", "TranscriptPage": "conversation_records",
    "UsageRecord": "conversation_records", "ReplyMessage": "conversation_records",
    "RecordedReply": "conversation_records", "ProviderFailure": "conversation_records",
    "Job": "job_records", "JobRun": "job_records", "Lease": "job_records", "Claim": "job_records",
    "RunResult": "job_records", "Beat": "job_records", "Busy": "job_records",
    "UsageReport": "usage",
    "AgentStep": "agent_records", "StepToolCall": "agent_records", "AgentJobSettings": "agent_records",
    "SearchHit": "chat_records", "SearchResult": "chat_records", "ConversationUsage": "chat_records",
    "ChatSettings": "conversation_records", "Preset": "preset_records",
    "Exchange": "escalation", "EscalationPlan": "escalation",
    "EXPORT_FORMAT": "config_file",
    "NOT_CHAT": "models", "validate_user_model": "models",
}
__all__ = [
    "EXPORT_FORMAT", "NOT_CHAT", "AgentJobSettings", "AgentStep", "Beat", "Busy", "ChainEntry", "ChatSettings",
    "Claim", "Conversation", "ConversationUsage", "EscalationPlan", "Exchange", "Job", "JobRun", "Lease", "Message",
    "ModelRow", "Preset", "ProviderFailure", "RecordedReply", "ReplyMessage", "RouteChange", "RouterConfig",
    "RouterService", "RunResult", "SearchHit", "SearchResult", "StepToolCall", "TranscriptEntry", "TranscriptPage",
    "UsageRecord", "UsageReport", "validate_user_model",
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .agent_records import AgentJobSettings, AgentStep, StepToolCall
    from .chat_records import ConversationUsage, SearchHit, SearchResult
    from .config_file import EXPORT_FORMAT
    from .conversation_records import (
        ChatSettings,
        Conversation,
        Message,
        ProviderFailure,
        RecordedReply,
        ReplyMessage,
        TranscriptEntry,
        TranscriptPage,
        UsageRecord,
    )
    from .escalation import EscalationPlan, Exchange
    from .job_records import Beat, Busy, Claim, Job, JobRun, Lease, RunResult
    from .models import NOT_CHAT, validate_user_model
    from .preset_records import Preset
    from .records import ChainEntry, ModelRow, RouteChange, RouterConfig
    from .router_service import RouterService
    from .usage import UsageReport
