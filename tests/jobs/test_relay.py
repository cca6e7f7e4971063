"""Uploads and campaigns accepted while Temporal is down are started by the relay once it is back."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from jobs.models import CampaignStatus, EmailCampaign, MediaAsset, MediaStatus
from jobs.services import email, media
from mono import starts
from tests.jobs.test_email import finished
from tests.jobs.test_media import jpeg_with_orientation, processed
from tests.support.outage import temporal_unreachable


def due_now(model, pk: int) -> None:
    """Make a row's owed start due now (past the backoff its failed try set)."""
    model.objects.filter(pk=pk).update(next_attempt_at=timezone.now())


def relay_starts() -> str:
    out = io.StringIO()
    call_command("relay_starts", stdout=out)
    return out.getvalue()


def test_image_uploaded_while_temporal_is_down_gets_its_variants_once_relayed(workers, acme, media_root, settings):
    with temporal_unreachable(settings):
        stuck = media.media_upload(tenant=acme, upload=SimpleUploadedFile("a.jpg", jpeg_with_orientation()))
        stuck.refresh_from_db()
        assert (stuck.status, stuck.queued_at, stuck.attempts) == (MediaStatus.PENDING, None, 1)
        assert stuck.error.startswith("Could not start the workflow")
        due_now(MediaAsset, stuck.pk)
        assert starts.relay_due(kind=media.START_KIND) == 0  # still down: nothing started, nothing lost

    queued = media.media_upload(tenant=acme, upload=SimpleUploadedFile("b.jpg", jpeg_with_orientation()))
    queued.refresh_from_db()
    assert queued.queued_at is not None and queued.next_attempt_at is None
    due_now(MediaAsset, stuck.pk)
    assert "1 images" in relay_starts()  # the stuck one only
    done = processed(stuck.pk)
    assert (done.status, done.error, done.variants.count(), done.next_attempt_at) == (MediaStatus.READY, "", 2, None)
    assert processed(queued.pk).status == MediaStatus.READY
    assert "0 images" in relay_starts()


def test_campaign_created_while_temporal_is_down_is_sent_once_relayed(workers, acme, smtp, settings):
    recipients = [email.Recipient(f"r{i}@example.com", {"name": str(i)}) for i in range(2)]
    with temporal_unreachable(settings):
        campaign = email.email_campaign_create(
            tenant=acme, name="Outage", subject="Hi {{ name }}", body="Body", recipients=recipients
        )
        assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.PENDING
        due_now(EmailCampaign, campaign.pk)
        assert starts.relay_due(kind=email.START_KIND) == 0

    due_now(EmailCampaign, campaign.pk)
    assert "1 e-mail campaigns" in relay_starts()
    assert finished(campaign.pk).status == CampaignStatus.COMPLETED
    assert sorted(m["To"] for m in smtp.messages) == ["r0@example.com", "r1@example.com"]
    assert "0 e-mail campaigns" in relay_starts()
    assert len(smtp.messages) == 2


def test_campaign_that_never_starts_fails_after_the_last_attempt_and_sends_nothing(acme, settings, monkeypatch):
    monkeypatch.setattr(starts, "MAX_ATTEMPTS", 2)
    with temporal_unreachable(settings):
        campaign = email.email_campaign_create(
            tenant=acme, name="Never", subject="Hi", body="Body", recipients=[email.Recipient("r@example.com", {})]
        )
        due_now(EmailCampaign, campaign.pk)
        assert starts.relay_due(kind=email.START_KIND) == 0
    campaign.refresh_from_db()
    assert (campaign.status, campaign.attempts, campaign.next_attempt_at) == (CampaignStatus.FAILED, 2, None)
    assert campaign.error.startswith("Gave up after 2 attempts. Last error: Could not start the workflow")
    assert campaign.finished_at is not None
