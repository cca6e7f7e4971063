"""Every Temporal task queue Mono uses, named in one place.

Tenant queues live in the tenant's own namespace; the `tenant-{id}-` prefix of the job queues is
kept from the original design so a queue name alone says whose work it is (in metrics, logs and
the Temporal UI). Platform queues live in the platform namespace.

The seed's job queue table maps onto these queues as follows:

    tenant   process-image     -> PROCESS_IMAGE     (tenant-{id}-process-image; also a legacy alias)
    tenant   (new)             -> PROCESS_MEDIA     (tenant-{id}-process-media: documents and videos)
    tenant   send-email        -> SEND_EMAIL        (tenant-{id}-send-email)
    global   housekeeping      -> HOUSEKEEPING      (global-housekeeping)
    global   cleanup-orphaned  -> CLEANUP_ORPHANED  (global-cleanup-orphaned)
"""

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    PLATFORM = "platform"
    TENANT = "tenant"


@dataclass(frozen=True)
class Queue:
    """A task queue template: `name` may contain `{tenant_id}`."""

    key: str
    scope: Scope
    template: str

    def name(self, tenant_id: int | None = None) -> str:
        if self.scope is Scope.TENANT:
            if tenant_id is None:
                raise ValueError(f"queue {self.key!r} is tenant-scoped and needs a tenant id")
            return self.template.format(tenant_id=tenant_id)
        return self.template


# Tenant namespace
WORKFLOWS = Queue("workflows", Scope.TENANT, "workflows")
LLM_PROCESSING = Queue("llm-processing", Scope.TENANT, "llm-processing")
PROCESS_IMAGE = Queue("process-image", Scope.TENANT, "tenant-{tenant_id}-process-image")
# Documents and videos get a queue of their own: a half-hour transcode never holds up the
# thumbnails of images uploaded after it (each queue has its own worker and activity slots).
PROCESS_MEDIA = Queue("process-media", Scope.TENANT, "tenant-{tenant_id}-process-media")
SEND_EMAIL = Queue("send-email", Scope.TENANT, "tenant-{tenant_id}-send-email")
# Platform namespace
PLATFORM = Queue("platform", Scope.PLATFORM, "platform")
HOUSEKEEPING = Queue("global-housekeeping", Scope.PLATFORM, "global-housekeeping")
CLEANUP_ORPHANED = Queue("global-cleanup-orphaned", Scope.PLATFORM, "global-cleanup-orphaned")

ALL_QUEUES: tuple[Queue, ...] = (
    WORKFLOWS,
    LLM_PROCESSING,
    PROCESS_IMAGE,
    PROCESS_MEDIA,
    SEND_EMAIL,
    PLATFORM,
    HOUSEKEEPING,
    CLEANUP_ORPHANED,
)
QUEUES_BY_KEY = {queue.key: queue for queue in ALL_QUEUES}

# The seed's untenanted `process-image` name is accepted and resolved to the tenant's own image queue.
LEGACY_ALIASES = {"process-image": PROCESS_IMAGE}


def resolve(key_or_legacy_name: str) -> Queue:
    """Return the queue for a key (`send-email`) or a legacy name (`process-image`)."""
    queue = QUEUES_BY_KEY.get(key_or_legacy_name) or LEGACY_ALIASES.get(key_or_legacy_name)
    if queue is None:
        raise KeyError(f"unknown task queue {key_or_legacy_name!r}")
    return queue
