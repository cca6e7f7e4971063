"""E-mail writes: single sends and campaigns, one delivery row per recipient, sent on the e-mail queue.

Subject, text body and optional HTML body are sandboxed Jinja2 templates (`mono.kernel.templating`)
rendered per recipient over that recipient's `context` plus `email`; a missing variable fails
that recipient only.
"""

import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import OperationalError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from temporalio.common import WorkflowIDReusePolicy

from jobs.models import CampaignKind, CampaignStatus, DeliveryStatus, EmailCampaign, EmailDelivery
from jobs.temporal.types import CampaignInput, CampaignSummary
from jobs.temporal.workflows import EmailCampaignWorkflow
from mono import starts
from mono.errors import ServiceError
from mono.kernel import templating
from mono.metrics import record_queue_job
from mono.temporal import queues

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out


class PermanentDeliveryError(Exception):
    """Retrying cannot help: invalid address, a template error, or a 5xx answer from the server."""


@dataclass(frozen=True)
class Recipient:
    email: str
    context: dict


def _check_templates(**templates: str) -> None:
    problems = {field: problem for field, text in templates.items() if text and (problem := templating.check(text))}
    if problems:
        raise ServiceError(problems)


def email_sends_per_second() -> float | None:
    """The tenant e-mail queues' server-side rate limit (`EMAIL_RATE_PER_MINUTE`; 0 is unlimited)."""
    rate = settings.EMAIL_RATE_PER_MINUTE
    return rate / 60 if rate > 0 else None


@transaction.atomic
def email_campaign_create(
    *,
    tenant,
    name: str,
    subject: str,
    body: str,
    recipients: list[Recipient],
    html: str = "",
    kind: str = CampaignKind.CAMPAIGN,
    actor=None,
) -> EmailCampaign:
    """Record a campaign and a pending delivery per recipient; its workflow starts after commit.

    Templates must compile (400 naming `subject`, `body` or `html`); recipients must be distinct
    (case-insensitively) and at most `EMAIL_CAMPAIGN_MAX_RECIPIENTS`.
    """
    _check_templates(subject=subject, body=body, html=html)
    if not recipients:
        raise ServiceError({"recipients": "Give at least one recipient."})
    if len(recipients) > settings.EMAIL_CAMPAIGN_MAX_RECIPIENTS:
        raise ServiceError({"recipients": f"At most {settings.EMAIL_CAMPAIGN_MAX_RECIPIENTS} recipients per campaign."})
    seen: set[str] = set()
    for index, recipient in enumerate(recipients):
        try:
            validate_email(recipient.email)
        except ValidationError:
            raise ServiceError({"recipients": {str(index): {"email": "Enter a valid e-mail address."}}}) from None
        if recipient.email.lower() in seen:
            raise ServiceError({"recipients": {str(index): {"email": f"{recipient.email} is listed twice."}}})
        seen.add(recipient.email.lower())
    campaign = EmailCampaign(
        tenant=tenant,
        name=name,
        kind=kind,
        subject_template=subject,
        body_template=body,
        html_template=html,
        total_count=len(recipients),
        created_by=actor,
        next_attempt_at=starts.owed_from(),
    )
    campaign.full_clean()
    campaign.save()
    EmailDelivery.objects.bulk_create(
        EmailDelivery(tenant=tenant, campaign=campaign, recipient=r.email, context=r.context) for r in recipients
    )
    starts.start_after_commit(kind=START_KIND, pk=campaign.pk)
    return campaign


def email_send(*, tenant, to: str, subject: str, body: str, context: dict, html: str = "", actor=None) -> EmailCampaign:
    """One message to one recipient: a campaign of one, on the same queue, retries and records."""
    return email_campaign_create(
        tenant=tenant,
        name=f"Message to {to}"[:200],
        subject=subject,
        body=body,
        html=html,
        recipients=[Recipient(to, context)],
        kind=CampaignKind.SINGLE,
        actor=actor,
    )


START_KIND = "e-mail campaigns"


def email_campaign_launch(campaign: EmailCampaign) -> None:
    """Start the campaign's workflow (id `email-campaign-{id}`) on the tenant's e-mail queue (`mono.starts` kind)."""
    delivery_ids = list(
        EmailDelivery.objects.for_tenant(campaign.tenant_id)
        .filter(campaign_id=campaign.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    starts.start_workflow(
        tenant_id=campaign.tenant_id,
        workflow=EmailCampaignWorkflow.run,
        arg=CampaignInput(campaign.tenant_id, campaign.pk, delivery_ids),
        id=campaign.workflow_id,
        task_queue=queues.SEND_EMAIL.name(campaign.tenant_id),
        # Once a campaign's workflow has run, its id never sends again.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


# `sending` once Temporal took it; a campaign whose workflow never started is `failed` (nothing was sent).
CAMPAIGN_MOVES = starts.StatusMoves(
    owed=CampaignStatus.PENDING, started=CampaignStatus.SENDING, failed=CampaignStatus.FAILED, failed_at="finished_at"
)


def _render(delivery: EmailDelivery) -> tuple[str, str, str]:
    campaign = delivery.campaign
    variables = {**delivery.context, "email": delivery.recipient}
    try:
        subject = " ".join(templating.render(campaign.subject_template, variables).split())
        body = templating.render(campaign.body_template, variables)
        html = templating.render_html(campaign.html_template, variables) if campaign.html_template else ""
    except templating.TemplateError as exc:
        raise PermanentDeliveryError(f"template: {exc}") from None
    return subject, body, html


def _classify(exc: Exception) -> Exception:
    """A permanent error for 5xx answers; anything else (4xx, network) is left to retries."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            detail = "; ".join(
                f"{addr}: {code} {msg.decode(errors='replace')}" for addr, (code, msg) in exc.recipients.items()
            )
            return PermanentDeliveryError(f"refused by the mail server: {detail}")
    elif isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return PermanentDeliveryError(f"refused by the mail server: {exc.smtp_code} {message}")
    return exc


class DeliveryBusy(Exception):
    """Another attempt holds the delivery (it is still talking to the mail server); retry later."""


# How long an attempt waits for an earlier attempt of the same delivery to finish sending.
BUSY_WAIT = timedelta(seconds=30)


def email_delivery_send(*, tenant_id: int, delivery_id: int, attempt: int = 1) -> str:
    """Send one delivery unless it already has an outcome; returns the delivery's status.

    Delivery is at least once: two attempts never send one delivery at the same time (an attempt
    holds the delivery's row lock while it talks to the mail server, so a retry started while an
    earlier attempt still hangs in SMTP waits for its outcome, or raises `DeliveryBusy` after
    `BUSY_WAIT`), and a sent delivery is never sent again; but a send whose outcome could not be
    recorded (the worker died after the server accepted the message) is sent again by the next
    attempt. A dead worker's lock goes with its database connection.

    Raises `PermanentDeliveryError` (and marks the delivery failed) when retrying cannot help;
    a temporary failure is recorded and re-raised.
    """
    failure = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = %s", [f"{int(BUSY_WAIT.total_seconds() * 1000)}ms"])
            delivery = (
                EmailDelivery.objects.for_tenant(tenant_id)
                .select_related("campaign")
                .select_for_update(of=("self",))
                .filter(pk=delivery_id)
                .first()
            )
            if delivery is None:
                raise PermanentDeliveryError(f"delivery {delivery_id} does not exist")
            if delivery.status != DeliveryStatus.PENDING:
                return delivery.status
            rows = EmailDelivery.objects.for_tenant(tenant_id).filter(pk=delivery_id)
            try:
                _deliver(delivery)
            except PermanentDeliveryError as exc:
                rows.update(status=DeliveryStatus.FAILED, attempts=attempt, error=str(exc)[:2000])
                record_queue_job(queue=queues.SEND_EMAIL.key, status="failed")
                failure = exc
            except Exception as exc:
                rows.update(attempts=attempt, error=f"attempt {attempt}: {exc}"[:2000])
                record_queue_job(queue=queues.SEND_EMAIL.key, status="retried")
                failure = exc
            else:
                rows.update(status=DeliveryStatus.SENT, attempts=attempt, error="", sent_at=timezone.now())
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        record_queue_job(queue=queues.SEND_EMAIL.key, status="retried")
        raise DeliveryBusy(f"delivery {delivery_id} is still being sent by an earlier attempt") from None
    if failure is not None:
        raise failure
    record_queue_job(queue=queues.SEND_EMAIL.key, status="completed")
    return DeliveryStatus.SENT


def _deliver(delivery: EmailDelivery) -> None:
    try:
        validate_email(delivery.recipient)
    except ValidationError:
        raise PermanentDeliveryError(f"{delivery.recipient!r} is not a valid e-mail address") from None
    subject, body, html = _render(delivery)
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[delivery.recipient]
    )
    if html:
        message.attach_alternative(html, "text/html")
    try:
        with get_connection(fail_silently=False) as mail:
            mail.send_messages([message])
    except Exception as exc:
        raise _classify(exc) from exc


def email_delivery_mark_failed(*, tenant_id: int, delivery_id: int, error: str) -> None:
    """A delivery whose retries ran out (or that failed permanently) stays failed with its reason."""
    if (
        EmailDelivery.objects.for_tenant(tenant_id)
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .update(status=DeliveryStatus.FAILED, error=error[:2000])
    ):
        record_queue_job(queue=queues.SEND_EMAIL.key, status="failed")


def email_campaign_finish(*, tenant_id: int, campaign_id: int) -> CampaignSummary:
    """Count the outcomes and close the campaign."""
    counts = (
        EmailDelivery.objects.for_tenant(tenant_id)
        .filter(campaign_id=campaign_id)
        .aggregate(
            sent=Count("id", filter=Q(status=DeliveryStatus.SENT)),
            failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
            total=Count("id"),
        )
    )
    if counts["failed"] == 0:
        status = CampaignStatus.COMPLETED
    elif counts["sent"] == 0:
        status = CampaignStatus.FAILED
    else:
        status = CampaignStatus.COMPLETED_WITH_ERRORS
    EmailCampaign.objects.for_tenant(tenant_id).filter(pk=campaign_id).update(
        status=status,
        sent_count=counts["sent"],
        failed_count=counts["failed"],
        total_count=counts["total"],
        finished_at=timezone.now(),
    )
    return CampaignSummary(campaign_id=campaign_id, status=status, sent=counts["sent"], failed=counts["failed"])
