"""Workflow definitions, their immutable versions, executions, steps, approvals, and the small
tenant data stores that workflow steps use (e-mail templates, records)."""

import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from mono.starts import OwedStart
from tenants.models import Tenant, TenantOwned


class DefinitionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


MAX_TAGS = 20
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _is_tag(value: object) -> bool:
    return isinstance(value, str) and TAG_PATTERN.fullmatch(value) is not None


class WorkflowDefinition(TenantOwned):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workflow_definitions")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=DefinitionStatus.choices, default=DefinitionStatus.DRAFT)
    tags = models.JSONField(default=list, blank=True, help_text="Short labels to find workflows by (lower-case slugs).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="definition_unique_slug")]
        verbose_name = "workflow definition"
        verbose_name_plural = "workflow definitions"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        tags = self.tags
        if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(_is_tag(tag) for tag in tags):
            raise ValidationError({"tags": f"At most {MAX_TAGS} tags, each a lower-case slug of up to 40 characters."})

    @property
    def latest_version(self) -> "WorkflowVersion | None":
        return self.versions.order_by("-number").first()


class WorkflowVersion(TenantOwned):
    """One saved graph. Never changed after creation: editing a definition adds a version."""

    definition = models.ForeignKey(WorkflowDefinition, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField(help_text="The ReactFlow toObject() document, as saved.")
    plan = models.JSONField(help_text="The compiled plan the interpreter runs.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["definition", "-number"]
        constraints = [models.UniqueConstraint(fields=["definition", "number"], name="version_unique_number")]
        verbose_name = "workflow version"
        verbose_name_plural = "workflow versions"

    def __str__(self) -> str:
        return f"{self.definition} v{self.number}"

    @property
    def start_data(self) -> dict:
        """The StartNode's normalised `data` in the compiled plan (`trigger`, `cron`, ...)."""
        return self.plan.get("nodes", {}).get(self.plan.get("start"), {}).get("data", {})


class ExecutionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = {
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.REJECTED,
    ExecutionStatus.CANCELLED,
}


def new_execution_id() -> str:
    return f"execution-{uuid.uuid4().hex}"


class WorkflowExecution(TenantOwned, OwedStart):
    """One run. Its id is also its Temporal workflow id, so a duplicate start is refused."""

    id = models.CharField(primary_key=True, max_length=64, default=new_execution_id, editable=False)
    definition = models.ForeignKey(WorkflowDefinition, on_delete=models.PROTECT, related_name="executions")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="executions")
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    event_seq = models.PositiveIntegerField(
        default=0, editable=False, help_text="Sequence number of the run's latest live event (see ExecutionEvent)."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"]),
            models.Index(
                fields=["next_attempt_at"],
                name="execution_start_owed",
                condition=models.Q(next_attempt_at__isnull=False),
            ),
        ]
        verbose_name = "workflow execution"
        verbose_name_plural = "workflow executions"

    def __str__(self) -> str:
        return self.id

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class StepStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class StepExecution(TenantOwned):
    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="steps")
    node_id = models.CharField(max_length=100)
    node_type = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    attempt = models.PositiveIntegerField(default=1)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["execution", "started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["execution", "node_id"], name="step_unique_node")]
        verbose_name = "step execution"
        verbose_name_plural = "step executions"

    def __str__(self) -> str:
        return f"{self.execution_id}/{self.node_id} {self.status}"


class ExecutionEvent(TenantOwned):
    """One entry of a run's live stream, numbered 1, 2, 3, ... per run in the order of sequencing.

    Written once a change has committed; the websocket stream's snapshot and replays read this log,
    so what a late client is shown and what it is sent afterwards can never overlap or leave a gap.
    """

    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    node_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, blank=True)
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["execution", "seq"]
        constraints = [models.UniqueConstraint(fields=["execution", "seq"], name="execution_event_unique_seq")]
        indexes = [models.Index(fields=["tenant", "at"], name="execution_event_tenant_at")]
        verbose_name = "execution event"
        verbose_name_plural = "execution events"

    def __str__(self) -> str:
        return f"{self.execution_id}#{self.seq} {self.kind}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ApprovalRequest(TenantOwned):
    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="approvals")
    node_id = models.CharField(max_length=100)
    approvers = models.JSONField(help_text="Usernames and role names, as drawn.")
    eligible_usernames = models.JSONField(help_text="Who may decide, resolved when the approval opened.")
    quorum = models.CharField(max_length=16, default="any")
    message = models.TextField(blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    on_timeout = models.CharField(max_length=16, default="reject")
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    timed_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["execution", "node_id"], name="approval_unique_node")]
        verbose_name = "approval request"
        verbose_name_plural = "approval requests"

    def __str__(self) -> str:
        return f"{self.execution_id}/{self.node_id} {self.status}"


class ApprovalDecision(TenantOwned):
    approval = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=16, choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["approval", "user"], name="decision_unique_user")]
        verbose_name = "approval decision"
        verbose_name_plural = "approval decisions"

    def __str__(self) -> str:
        return f"{self.user} {self.decision}"


class EmailTemplate(TenantOwned):
    """A named e-mail an EmailNode can send (`data.template`); subject and body are templates."""

    name = models.SlugField(max_length=100)
    subject = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="email_template_unique_name")]
        verbose_name = "e-mail template"
        verbose_name_plural = "e-mail templates"

    def __str__(self) -> str:
        return self.name


class Record(TenantOwned):
    """The tenant's record store that UpdateRecordNode writes: JSON fields under collection + key."""

    collection = models.SlugField(max_length=100)
    key = models.CharField(max_length=200)
    fields = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection", "key"]
        constraints = [models.UniqueConstraint(fields=["tenant", "collection", "key"], name="record_unique_key")]
        verbose_name = "record"
        verbose_name_plural = "records"

    def __str__(self) -> str:
        return f"{self.collection}/{self.key}"


class AgentTranscript(TenantOwned):
    """The conversation of one agent node run: kept here, passed to Temporal only by its id.

    `messages` is the transcript sent to the model (ChatMessage dicts, tool calls and results
    included); `turns` maps a turn number to what the model answered then, and `results` a tool
    call's key (`{turn}-{index}`) to its result, so a retried activity finds its work already done.
    """

    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="agent_transcripts")
    node_id = models.CharField(max_length=100)
    data = models.JSONField(help_text="The agent node's data, as the run uses it.")
    messages = models.JSONField(default=list)
    turns = models.JSONField(default=dict)
    results = models.JSONField(default=dict)
    cost = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["execution", "node_id"], name="agent_transcript_unique_node")]
        verbose_name = "agent transcript"
        verbose_name_plural = "agent transcripts"

    def __str__(self) -> str:
        return f"{self.execution_id}/{self.node_id}"
