"""The service layer: RouterService, the one async API the faces (tui, cli, server, scheduler) and the
engine call, and the dataclasses it returns. Nothing outside this package and `store/` touches the store.

    router_service  RouterService: caches, router settings, registry, availability, import/export, usage
    conversations   conversations, messages and the usage row of each reply (part of RouterService)
    jobs            scheduled jobs, their runs, the scheduler lease and claims (part of RouterService)
    health          live provider checks, the providers report, failures replies record (part of it)
    views           what `router status` / `router test` and the router screen show (part of it)
    records, job_records   the dataclasses handed out
    models, availability, config_file, usage   pure helpers, tested without a database
"""

from .config_file import EXPORT_FORMAT
from .job_records import Claim, Job, JobRun, Lease, RunResult
from .models import NOT_CHAT, tier_for_price, validate_user_model
from .records import (
    ChainEntry,
    Conversation,
    Message,
    ModelRow,
    ProviderFailure,
    RecordedReply,
    ReplyMessage,
    RouterConfig,
    TranscriptEntry,
    TranscriptPage,
    UsageRecord,
    UsageReport,
)
from .router_service import RouterService

__all__ = [
    "EXPORT_FORMAT", "NOT_CHAT", "ChainEntry", "Claim", "Conversation", "Job", "JobRun", "Lease", "Message",
    "ModelRow", "ProviderFailure", "RecordedReply", "ReplyMessage", "RouterConfig", "RouterService", "RunResult",
    "TranscriptEntry", "TranscriptPage", "UsageRecord", "UsageReport", "tier_for_price", "validate_user_model",
]
