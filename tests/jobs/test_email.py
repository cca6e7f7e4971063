"""E-mail sends and campaigns delivered by real workers to a real local SMTP server."""

import threading
from datetime import timedelta

from django.db import connection
from prometheus_client import REGISTRY

from jobs.models import CampaignStatus, DeliveryStatus, EmailCampaign, EmailDelivery
from jobs.services import email
from jobs.temporal.workflows import SEND
from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tenants.selectors import active_tenant_refs
from tests.workflows.conftest import api_as, wait_until


def sent_metric() -> float:
    labels = {"queue": "send-email", "status": "completed"}
    return REGISTRY.get_sample_value("mono_queue_jobs_total", labels) or 0.0


def finished(campaign_id: int, timeout: float = 30) -> EmailCampaign:
    return wait_until(
        lambda: EmailCampaign.objects.filter(pk=campaign_id, finished_at__isnull=False).first(),
        timeout=timeout,
        what=f"campaign {campaign_id} finished",
    )


def campaign(api, recipients, subject="Hello {{ name }}", body="Dear {{ name }}, your code is {{ code }}.", **extra):
    return api.post(
        "/api/v1/email/campaigns",
        {"name": "Spring", "subject": subject, "body": body, "recipients": recipients, **extra},
        format="json",
    )


def test_single_send_is_rendered_and_delivered_over_smtp(workers, acme, smtp):
    response = api_as(acme, "erin").post(
        "/api/v1/email/send",
        {
            "to": "bob@example.com",
            "subject": "Welcome {{ name }}",
            "body": "Hi {{ name }}!",
            "context": {"name": "Bob"},
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    done = finished(response.json()["id"])
    assert (done.status, done.kind, done.sent_count) == (CampaignStatus.COMPLETED, "single", 1)
    [message] = smtp.to("bob@example.com")
    assert message["Subject"] == "Welcome Bob"
    assert message["From"] == "news@acme.test"
    assert message.get_content().strip() == "Hi Bob!"


def test_campaign_delivers_each_recipient_its_own_rendering(workers, acme, smtp):
    sent_before = sent_metric()
    api = api_as(acme, "erin")
    recipients = [
        {"email": f"user{i}@example.com", "context": {"name": f"User {i}", "code": 100 + i}} for i in range(4)
    ]
    response = campaign(api, recipients, html="<p>Hi {{ name }}</p>")
    assert response.status_code == 202, response.content
    assert [d["status"] for d in response.json()["deliveries"]] == ["pending"] * 4
    done = finished(response.json()["id"])
    assert (done.status, done.sent_count, done.failed_count, done.total_count) == (CampaignStatus.COMPLETED, 4, 0, 4)
    for i in range(4):
        [message] = smtp.to(f"user{i}@example.com")
        assert message["Subject"] == f"Hello User {i}"
        assert message.get_body(("plain",)).get_content().strip() == f"Dear User {i}, your code is {100 + i}."
        assert message.get_body(("html",)).get_content().strip() == f"<p>Hi User {i}</p>"
    detail = api.get(f"/api/v1/email/campaigns/{done.pk}").json()
    assert {d["recipient"]: d["status"] for d in detail["deliveries"]} == {
        f"user{i}@example.com": "sent" for i in range(4)
    }
    assert all(d["attempts"] == 1 and d["sent_at"] for d in detail["deliveries"])
    assert [c["id"] for c in api.get("/api/v1/email/campaigns?kind=campaign").json()["results"]] == [done.pk]
    assert sent_metric() - sent_before == 4


def test_the_rate_limit_holds_for_the_tenant_across_campaigns(start_workers, settings, acme, smtp):
    settings.EMAIL_RATE_PER_MINUTE = 120  # two sends a second for the whole tenant
    start_workers(tenant_source=active_tenant_refs)
    api = api_as(acme, "erin")
    ids = [
        campaign(
            api, [{"email": f"{name}{i}@example.com", "context": {"name": "R", "code": i}} for i in range(4)]
        ).json()["id"]
        for name in ("spring", "autumn")
    ]
    done = [finished(campaign_id) for campaign_id in ids]
    times = sorted(EmailDelivery.objects.filter(campaign__in=done).values_list("sent_at", flat=True))
    assert len(smtp.messages) == 8
    # Eight sends at 2/s, whatever the number of campaigns: at least 3 s apart first to last,
    # even allowing the server's token bucket a burst of one second's worth.
    assert (times[-1] - times[0]).total_seconds() >= 2.5, times


def test_temporary_smtp_failure_is_retried_and_delivered_once(workers, acme, smtp):
    smtp.defer["slow@example.com"] = 1  # the first DATA answers 451
    recipients = [
        {"email": "slow@example.com", "context": {"name": "Slow", "code": 1}},
        {"email": "fast@example.com", "context": {"name": "Fast", "code": 2}},
    ]
    done = finished(campaign(api_as(acme, "erin"), recipients).json()["id"])
    assert done.status == CampaignStatus.COMPLETED
    assert smtp.deferred == ["slow@example.com"]
    assert len(smtp.to("slow@example.com")) == 1
    slow = EmailDelivery.objects.get(campaign=done, recipient="slow@example.com")
    assert (slow.status, slow.attempts, slow.error) == (DeliveryStatus.SENT, 2, "")
    assert EmailDelivery.objects.get(campaign=done, recipient="fast@example.com").attempts == 1


def test_refused_address_fails_at_once_without_retries(workers, acme, smtp):
    smtp.refuse.add("nobody@example.com")
    recipients = [
        {"email": "nobody@example.com", "context": {"name": "N", "code": 0}},
        {"email": "someone@example.com", "context": {"name": "S", "code": 1}},
    ]
    done = finished(campaign(api_as(acme, "erin"), recipients).json()["id"])
    assert (done.status, done.sent_count, done.failed_count) == (CampaignStatus.COMPLETED_WITH_ERRORS, 1, 1)
    refused = EmailDelivery.objects.get(campaign=done, recipient="nobody@example.com")
    assert (refused.status, refused.attempts) == (DeliveryStatus.FAILED, 1)
    assert "550" in refused.error
    assert smtp.to("nobody@example.com") == []


def test_missing_template_variable_fails_only_that_recipient(workers, acme, smtp):
    recipients = [
        {"email": "full@example.com", "context": {"name": "Full", "code": 7}},
        {"email": "partial@example.com", "context": {"name": "Partial"}},  # no `code`
    ]
    done = finished(campaign(api_as(acme, "erin"), recipients).json()["id"])
    assert done.status == CampaignStatus.COMPLETED_WITH_ERRORS
    partial = EmailDelivery.objects.get(campaign=done, recipient="partial@example.com")
    assert partial.status == DeliveryStatus.FAILED
    assert "code" in partial.error and "undefined" in partial.error
    assert partial.attempts == 1
    assert smtp.to("partial@example.com") == []
    assert len(smtp.to("full@example.com")) == 1


def test_a_retried_activity_does_not_send_a_sent_delivery_again(workers, acme, smtp):
    done = finished(
        campaign(api_as(acme, "erin"), [{"email": "once@example.com", "context": {"name": "O", "code": 1}}]).json()[
            "id"
        ]
    )
    delivery = EmailDelivery.objects.get(campaign=done)
    assert email.email_delivery_send(tenant_id=acme.pk, delivery_id=delivery.pk, attempt=2) == DeliveryStatus.SENT
    assert len(smtp.to("once@example.com")) == 1


def pending_delivery(tenant, recipient: str) -> EmailDelivery:
    campaign = EmailCampaign.objects.create(
        tenant=tenant, name="Once", subject_template="Hi", body_template="Only once, please.", total_count=1
    )
    return EmailDelivery.objects.create(tenant=tenant, campaign=campaign, recipient=recipient)


def attempts_in_threads(delivery: EmailDelivery, smtp) -> dict:
    """Attempt 1 starts and is slowed in DATA; attempt 2 starts while it is still sending."""
    outcomes = {}

    def attempt(number: int) -> None:
        try:
            outcomes[number] = email.email_delivery_send(
                tenant_id=delivery.tenant_id, delivery_id=delivery.pk, attempt=number
            )
        except Exception as exc:
            outcomes[number] = exc
        finally:
            connection.close()

    first = threading.Thread(target=attempt, args=(1,))
    first.start()
    assert smtp.receiving.wait(10), "attempt 1 never reached DATA"
    second = threading.Thread(target=attempt, args=(2,))
    second.start()
    first.join(30)
    second.join(30)
    return outcomes


def test_an_attempt_started_while_another_is_still_sending_waits_and_does_not_send_again(acme, smtp):
    delivery = pending_delivery(acme, "twice@example.com")
    smtp.delay["twice@example.com"] = 2
    outcomes = attempts_in_threads(delivery, smtp)
    assert outcomes == {1: DeliveryStatus.SENT, 2: DeliveryStatus.SENT}
    assert len(smtp.to("twice@example.com")) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


def test_an_attempt_that_waits_too_long_for_another_is_retried_later_without_sending(acme, smtp, monkeypatch):
    monkeypatch.setattr(email, "BUSY_WAIT", timedelta(milliseconds=300))
    delivery = pending_delivery(acme, "busy@example.com")
    smtp.delay["busy@example.com"] = 2
    outcomes = attempts_in_threads(delivery, smtp)
    assert outcomes[1] == DeliveryStatus.SENT
    assert isinstance(outcomes[2], email.DeliveryBusy)  # a plain exception: Temporal retries it
    assert len(smtp.to("busy@example.com")) == 1
    assert email.email_delivery_send(tenant_id=acme.pk, delivery_id=delivery.pk, attempt=3) == DeliveryStatus.SENT
    assert len(smtp.to("busy@example.com")) == 1


def test_the_smtp_timeout_is_set_well_under_the_send_activity_timeout(settings):
    assert 0 < settings.EMAIL_TIMEOUT <= SEND["start_to_close_timeout"].total_seconds() / 4


def test_campaign_workflow_id_is_the_business_key_on_the_tenant_email_queue(workers, acme, smtp):
    done = finished(
        campaign(api_as(acme, "erin"), [{"email": "k@example.com", "context": {"name": "K", "code": 1}}]).json()["id"]
    )

    async def describe():
        client = await get_tenant_client(acme.pk)
        return await client.get_workflow_handle(f"email-campaign-{done.pk}").describe()

    assert sync.run(describe).task_queue == f"tenant-{acme.pk}-send-email"


def test_bad_campaign_input_is_400_naming_the_field_and_writes_nothing(acme, smtp):
    api = api_as(acme, "erin")
    assert "recipients" in campaign(api, []).json()
    bad_address = campaign(api, [{"email": "not-an-address"}])
    assert bad_address.status_code == 400 and "recipients" in bad_address.json()
    twice = campaign(api, [{"email": "a@example.com"}, {"email": "A@example.com"}])
    assert twice.status_code == 400 and "recipients" in twice.json()
    broken = campaign(api, [{"email": "a@example.com"}], subject="Hi {{ name")
    assert broken.status_code == 400 and "subject" in broken.json()
    single = api.post("/api/v1/email/send", {"to": "x", "subject": "s", "body": "b"}, format="json")
    assert single.status_code == 400 and "to" in single.json()
    assert api_as(acme, "vic").post("/api/v1/email/send", {}, format="json").status_code == 403
    assert not EmailCampaign.objects.exists() and not EmailDelivery.objects.exists()


def test_another_tenants_campaign_is_404(workers, acme, globex, smtp):
    done = finished(
        campaign(api_as(acme, "erin"), [{"email": "c@example.com", "context": {"name": "C", "code": 1}}]).json()["id"]
    )
    outsider = api_as(globex, "gina")
    assert outsider.get(f"/api/v1/email/campaigns/{done.pk}").status_code == 404
    assert outsider.get("/api/v1/email/campaigns").json()["results"] == []
    assert api_as(acme, "vic").get(f"/api/v1/email/campaigns/{done.pk}").status_code == 200
