"""Uploads and campaigns accepted while Temporal is down are started by the relay once it is back."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from jobs.models import CampaignStatus, EmailCampaign, MediaAsset, MediaStatus
from jobs.services import email, media
from tests.jobs.test_email import finished
from tests.jobs.test_media import jpeg_with_orientation, processed
from tests.support.outage import temporal_unreachable


def age(model, pk: int) -> None:
    """Make a row older than the relay's grace period for first attempts."""
    model.objects.filter(pk=pk).update(created_at=timezone.now() - media.RELAY_AFTER - timedelta(seconds=1))


def relay_starts() -> str:
    out = io.StringIO()
    call_command("relay_starts", stdout=out)
    return out.getvalue()


def test_image_uploaded_while_temporal_is_down_gets_its_variants_once_relayed(workers, acme, media_root, settings):
    with temporal_unreachable(settings):
        stuck = media.media_upload(tenant=acme, upload=SimpleUploadedFile("a.jpg", jpeg_with_orientation()))
        stuck.refresh_from_db()
        assert (stuck.status, stuck.queued_at) == (MediaStatus.PENDING, None)
        assert "could not be queued yet" in stuck.error
        age(MediaAsset, stuck.pk)
        assert media.media_relay_pending() == 0  # still down: nothing started, nothing lost

    queued = media.media_upload(tenant=acme, upload=SimpleUploadedFile("b.jpg", jpeg_with_orientation()))
    assert MediaAsset.objects.get(pk=queued.pk).queued_at is not None
    assert "1 images" in relay_starts()  # the stuck one only
    done = processed(stuck.pk)
    assert (done.status, done.error, done.variants.count()) == (MediaStatus.READY, "", 2)
    assert processed(queued.pk).status == MediaStatus.READY
    assert "0 images" in relay_starts()


def test_campaign_created_while_temporal_is_down_is_sent_once_relayed(workers, acme, smtp, settings):
    recipients = [email.Recipient(f"r{i}@example.com", {"name": str(i)}) for i in range(2)]
    with temporal_unreachable(settings):
        campaign = email.email_campaign_create(
            tenant=acme, name="Outage", subject="Hi {{ name }}", body="Body", recipients=recipients
        )
        assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.PENDING
        age(EmailCampaign, campaign.pk)
        assert email.email_campaign_relay_pending() == 0

    assert "1 e-mail campaigns" in relay_starts()
    assert finished(campaign.pk).status == CampaignStatus.COMPLETED
    assert sorted(m["To"] for m in smtp.messages) == ["r0@example.com", "r1@example.com"]
    assert "0 e-mail campaigns" in relay_starts()
    assert len(smtp.messages) == 2
