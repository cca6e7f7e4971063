"""What retention housekeeping deletes, declared in one place.

Each entry names a model (resolved lazily, so an app that is not installed yet simply has no
rows to purge), the date that ages a row, and an extra filter rows must match to be deleted.
Rows older than their tenant's `retention_days` go; related rows follow through `CASCADE`.
Order matters: rows that may point at executions are purged before the executions.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.db.models.functions import Coalesce

from workflows.models import FINISHED_STATUSES


@dataclass(frozen=True)
class RetentionRule:
    model_label: str
    date_field: str
    #: Applied after the age filter; an execution that is still running is never deleted.
    only: dict = field(default_factory=dict)
    #: When set, the age is `Coalesce(*date_fields)` (e.g. finished_at, else created_at).
    date_fields: tuple[str, ...] = ()

    def model(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model_label)
        except LookupError:
            return None

    def aged(self, queryset: models.QuerySet, cutoff) -> models.QuerySet:
        if self.date_fields:
            queryset = queryset.annotate(_aged_at=Coalesce(*self.date_fields))
            return queryset.filter(_aged_at__lt=cutoff, **self.only)
        return queryset.filter(**{f"{self.date_field}__lt": cutoff}, **self.only)


RETENTION: tuple[RetentionRule, ...] = (
    RetentionRule("webhooks.WebhookEvent", "received_at"),
    RetentionRule(
        "workflows.WorkflowExecution",
        "finished_at",
        only={"status__in": sorted(FINISHED_STATUSES)},
        date_fields=("finished_at", "created_at"),
    ),
    RetentionRule("llm.LLMUsage", "created_at"),
)
