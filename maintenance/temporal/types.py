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
    #: Workflow schedules created or updated by the per-tenant repair so far.
    schedules_repaired: int = 0


@dataclass(frozen=True)
class HousekeepingResult:
    tenants: int
    deleted: dict[str, int]
    failed_tenant_ids: list[int] = field(default_factory=list)
    schedules_repaired: int = 0


@dataclass(frozen=True)
class SchedulesRepairInput:
    tenant_id: int


@dataclass(frozen=True)
class SchedulesRepairResult:
    tenant_id: int
    #: Schedules that were missing or differed from their definition and were fixed.
    repaired: int


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
    """Where a (continued) nightly backup run stands; a fresh run takes the defaults."""

    concurrency: int = 4
    page_size: int = 100
    after_tenant_id: int = 0
    #: The night's date (`YYYYmmdd`), fixed by the first run so continued runs name children alike.
    day: str = ""
    archived: int = 0
    failed_tenant_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class NightlyBackupsResult:
    #: Archives written (or found already written) across every continued run.
    archived: int
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
