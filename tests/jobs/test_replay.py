"""The job workflows are deterministic: real histories replay in the sandbox without errors."""

import contextlib

from django.core.files.uploadedfile import SimpleUploadedFile
from temporalio.client import WorkflowFailureError
from temporalio.worker import Replayer

from jobs.services import email, media
from jobs.temporal.workflows import EmailCampaignWorkflow, MediaProcessWorkflow
from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.jobs.test_email import finished
from tests.jobs.test_media import jpeg_with_orientation, processed


def replay(tenant_id: int, workflow_id: str, workflow_class: type) -> None:
    """Wait for the run to close (failed runs too), then replay its whole history."""

    async def run():
        client = await get_tenant_client(tenant_id)
        handle = client.get_workflow_handle(workflow_id)
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        history = await handle.fetch_history()
        await Replayer(workflows=[workflow_class], data_converter=client.data_converter).replay_workflow(history)

    sync.run(run, timeout=60)


def test_campaign_history_with_a_failed_recipient_replays(workers, acme, smtp):
    smtp.refuse.add("gone@example.com")
    campaign = email.email_campaign_create(
        tenant=acme,
        name="Replay",
        subject="Hi {{ name }}",
        body="Body",
        recipients=[email.Recipient(f"r{i}@example.com", {"name": str(i)}) for i in range(3)]
        + [email.Recipient("gone@example.com", {"name": "gone"})],
    )
    finished(campaign.pk)
    replay(acme.pk, campaign.workflow_id, EmailCampaignWorkflow)


def test_media_histories_of_success_and_failure_replay(workers, acme, media_root):
    good = media.media_upload(tenant=acme, upload=SimpleUploadedFile("g.jpg", jpeg_with_orientation()))
    bad = media.media_upload(tenant=acme, upload=SimpleUploadedFile("b.jpg", jpeg_with_orientation()[:200]))
    processed(good.pk)
    processed(bad.pk)

    replay(acme.pk, f"media-{good.pk}", MediaProcessWorkflow)
    replay(acme.pk, f"media-{bad.pk}", MediaProcessWorkflow)
