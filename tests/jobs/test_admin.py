"""Operators inspect uploads and sends in the admin (read-only) and can re-queue an image."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import MediaStatus
from jobs.services import email, media
from tests.jobs.test_media import jpeg_with_orientation, processed


@pytest.fixture
def operator(client, acme):
    alice = get_user_model().objects.get(username="alice")
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def test_admin_pages_show_assets_with_variants_and_campaigns_with_deliveries(operator, acme, media_root):
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("a.jpg", jpeg_with_orientation(1)))
    media.media_process(tenant_id=acme.pk, asset_id=asset.pk)
    campaign = email.email_campaign_create(
        tenant=acme, name="News", subject="Hi", body="Hello", recipients=[email.Recipient("x@example.com", {})]
    )
    asset_page = operator.get(f"/admin/jobs/mediaasset/{asset.pk}/change/")
    assert asset_page.status_code == 200
    assert b"thumb" in asset_page.content and b"medium" in asset_page.content
    campaign_page = operator.get(f"/admin/jobs/emailcampaign/{campaign.pk}/change/")
    assert campaign_page.status_code == 200
    assert b"x@example.com" in campaign_page.content
    assert operator.get("/admin/jobs/mediaasset/").status_code == 200
    assert operator.get("/admin/jobs/emailcampaign/").status_code == 200
    assert operator.get("/admin/jobs/mediaasset/add/").status_code == 403
    assert operator.get("/admin/jobs/emailcampaign/add/").status_code == 403


def test_admin_action_makes_the_variants_again(workers, operator, acme, media_root):
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("b.jpg", jpeg_with_orientation(1)))
    processed(asset.pk)
    asset.variants.all().delete()
    type(asset).objects.filter(pk=asset.pk).update(status=MediaStatus.PENDING)
    response = operator.post(
        "/admin/jobs/mediaasset/", {"action": "process_again", "_selected_action": [asset.pk]}, follow=True
    )
    assert b"Queued 1 asset" in response.content
    assert processed(asset.pk).status == MediaStatus.READY
    assert asset.variants.count() == 2
