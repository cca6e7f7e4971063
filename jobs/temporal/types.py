"""Dataclasses of the background-job workflows and activities (small: ids, never file bytes)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MediaInput:
    """`kind` picks the work; the limits come from settings when the run starts (the workflow reads none).

    The defaults are those of runs started before documents and videos were processed (images).
    """

    tenant_id: int
    asset_id: int
    kind: str = "image"
    time_limit_seconds: int = 1800
    heartbeat_seconds: int = 30


@dataclass(frozen=True)
class MediaResult:
    asset_id: int
    status: str
    variants: list[str] = field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class MediaFailure:
    tenant_id: int
    asset_id: int
    error: str


@dataclass(frozen=True)
class CampaignInput:
    tenant_id: int
    campaign_id: int
    delivery_ids: list[int]


@dataclass(frozen=True)
class DeliveryInput:
    tenant_id: int
    delivery_id: int


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: int
    status: str
    error: str = ""


@dataclass(frozen=True)
class DeliveryFailure:
    tenant_id: int
    delivery_id: int
    error: str


@dataclass(frozen=True)
class CampaignFinish:
    tenant_id: int
    campaign_id: int


@dataclass(frozen=True)
class CampaignSummary:
    campaign_id: int
    status: str
    sent: int
    failed: int


@dataclass(frozen=True)
class OrphanCleanupInput:
    """Every field has a default, so a Temporal Schedule can start the workflow with no argument."""

    grace_hours: int = 24
    dry_run: bool = False


@dataclass(frozen=True)
class OrphanCleanupResult:
    scanned: int = 0
    deleted: int = 0
    kept_referenced: int = 0
    kept_young: int = 0
    missing_marked_failed: int = 0
    deleted_bytes: int = 0
