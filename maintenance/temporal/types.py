"""Dataclasses passed between the maintenance workflows and their activities."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HousekeepingInput:
    """Where a (continued) housekeeping run stands; a fresh run takes the defaults."""

    after_tenant_id: int = 0
    page_size: int = 100
    tenants_done: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    failed_tenant_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class HousekeepingResult:
    tenants: int
    deleted: dict[str, int]
    failed_tenant_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class TenantPageInput:
    after: int = 0
    limit: int = 100
    active_only: bool = False


@dataclass(frozen=True)
class TenantPage:
    tenant_ids: list[int]


@dataclass(frozen=True)
class PurgeInput:
    tenant_id: int


@dataclass(frozen=True)
class PurgeResult:
    tenant_id: int
    deleted: dict[str, int]


@dataclass(frozen=True)
class NightlyBackupsInput:
    concurrency: int = 4


@dataclass(frozen=True)
class NightlyBackupsResult:
    archives: list[str]
    failed_tenant_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class TenantBackupInput:
    tenant_id: int
    #: Names the archive (UTC, `YYYYmmddTHHMMSSZ`); empty: the time the activity runs.
    stamp: str = ""


@dataclass(frozen=True)
class TenantBackupResult:
    tenant_id: int
    path: str
    sha256: str
    counts: dict[str, int]


@dataclass(frozen=True)
class ScheduledRunInput:
    """What a workflow's Temporal Schedule passes to each `ScheduledWorkflowRun`."""

    tenant_id: int
    definition_id: int
    schedule_id: str


@dataclass(frozen=True)
class ScheduledRunStart:
    tenant_id: int
    definition_id: int
    schedule_id: str
    scheduled_at: str


@dataclass(frozen=True)
class ScheduledRunResult:
    execution_id: str
    created: bool
