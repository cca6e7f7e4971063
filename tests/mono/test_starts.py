"""No lost starts: every kind of workflow start made while Temporal is away runs exactly once when it is back."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from jobs.models import CampaignStatus, EmailCampaign, MediaAsset, MediaStatus
from llm.models import LLMBatch
from mono import starts
from tests.jobs.conftest import email_rate, media_root, smtp  # noqa: F401 (fixtures)
from tests.jobs.test_email import finished
from tests.jobs.test_media import jpeg_with_orientation, processed
from tests.llm.conftest import fake_llm, prices  # noqa: F401 (fixtures)
from tests.support.outage import temporal_unreachable
from tests.webhooks.conftest import make_integration, payload, post, signed_headers, workflow_runs
from tests.workflows import graphs
from tests.workflows.conftest import acme, api_as, wait_until, workers  # noqa: F401 (fixtures)
from tests.workflows.test_schedules import scheduled
from webhooks.models import WebhookEvent
from workflows.models import ExecutionStatus, WorkflowExecution
from workflows.services import definitions, schedules

OWNING_MODELS = (WorkflowExecution, WebhookEvent, MediaAsset, EmailCampaign, LLMBatch)


def all_due_now() -> None:
    """Push every owed start past the backoff its failed try set."""
    from django.utils import timezone

    for model in OWNING_MODELS:
        model.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=timezone.now())


def relay_starts() -> str:
    out = io.StringIO()
    call_command("relay_starts", stdout=out)
    return out.getvalue()


@pytest.fixture
def sources(acme, settings):  # noqa: F811
    """What each kind of start needs, made while Temporal is still up."""
    graph = graphs.graph(graphs.START, graphs.END, graphs.edge("start", "end"))
    manual = definitions.definition_create(tenant=acme, name="Manual", graph=graph)
    integration, secret = make_integration(acme, slug="shop")
    return manual, integration, secret


def test_every_kind_of_start_made_while_temporal_is_away_runs_exactly_once_when_it_is_back(
    workers,  # noqa: F811
    acme,  # noqa: F811
    sources,
    media_root,  # noqa: F811
    smtp,  # noqa: F811
    fake_llm,  # noqa: F811
    prices,  # noqa: F811
    settings,
):
    manual, _, secret = sources
    api = api_as(acme, "erin")
    with temporal_unreachable(settings):
        run = api.post(f"/api/v1/workflows/{manual.pk}/execute", {"input": {"n": 1}}, format="json")
        nightly = definitions.definition_create(tenant=acme, name="Nightly", graph=scheduled())
        fired, _ = schedules.scheduled_execution_start(
            tenant_id=acme.pk,
            definition_id=nightly.pk,
            schedule_id=schedules.schedule_id(nightly.pk),
            scheduled_at="2026-12-01T09:00:00+00:00",
        )
        items = [{"route": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}]
        batch = api.post("/api/v1/llm/batch", {"items": items, "concurrency": 1}, format="json")
        body = payload(order="OUT-1")
        hook = post("shop", body, signed_headers(secret, body, msg_id="msg_outage"))
        image = api.post("/api/v1/media", {"file": SimpleUploadedFile("a.jpg", jpeg_with_orientation())})
        campaign = api.post(
            "/api/v1/email/campaigns",
            {"name": "Outage", "subject": "Hi", "body": "Body", "recipients": [{"email": "r@example.com"}]},
            format="json",
        )
        starts.drain()  # the webhook's first try runs on the background pool

        answers = [run, batch, hook, image, campaign]
        assert [a.status_code for a in answers] == [202] * 5, [a.content for a in answers]
        assert [a.json()["status"] for a in answers] == ["pending"] * 5
        owed = {model.__name__: model.objects.filter(next_attempt_at__isnull=False).count() for model in OWNING_MODELS}
        # The manual run and the fire are runs; the webhook's run is owed through its event.
        assert owed == {"WorkflowExecution": 2, "WebhookEvent": 1, "MediaAsset": 1, "EmailCampaign": 1, "LLMBatch": 1}
        all_due_now()
        assert sum(starts.relay_all().values()) == 0  # still away: nothing started, nothing lost

    all_due_now()
    out = relay_starts()
    for started in ("2 runs", "1 webhook events", "1 images", "1 e-mail campaigns", "1 LLM batches"):
        assert started in out, out
    again = relay_starts()
    for nothing in ("0 runs", "0 webhook events", "0 images", "0 e-mail campaigns", "0 LLM batches"):
        assert nothing in again, again

    event = WebhookEvent.objects.get(pk=hook.json()["id"])
    run_ids = [run.json()["id"], fired.pk, event.execution_id]
    for run_id in run_ids:
        done = wait_until(
            lambda run_id=run_id: WorkflowExecution.objects.filter(pk=run_id, finished_at__isnull=False).first(),
            timeout=30,
            what=run_id,
        )
        assert done.status == ExecutionStatus.COMPLETED, done.error
    assert processed(image.json()["id"]).status == MediaStatus.READY
    assert finished(campaign.json()["id"]).status == CampaignStatus.COMPLETED
    assert [m["To"] for m in smtp.messages] == ["r@example.com"]
    batch_row = wait_until(
        lambda: LLMBatch.objects.filter(pk=batch.json()["id"], finished_at__isnull=False).first(), timeout=30
    )
    assert batch_row.status == "completed" and json.dumps(batch_row.results).count("hello") == 1

    workflow_ids = [*run_ids, f"media-{image.json()['id']}", f"email-campaign-{campaign.json()['id']}", batch_row.pk]
    assert {workflow_id: workflow_runs(acme.pk, workflow_id) for workflow_id in workflow_ids} == dict.fromkeys(
        workflow_ids, 1
    )
    assert not any(model.objects.filter(next_attempt_at__isnull=False).exists() for model in OWNING_MODELS)


def test_a_start_that_never_gets_through_fails_the_run_after_the_last_attempt(acme, sources, settings, monkeypatch):  # noqa: F811
    monkeypatch.setattr(starts, "MAX_ATTEMPTS", 2)
    manual, _, _ = sources
    with temporal_unreachable(settings):
        answer = api_as(acme, "erin").post(f"/api/v1/workflows/{manual.pk}/execute", {"input": {}}, format="json")
        assert answer.status_code == 202 and answer.json()["status"] == "pending"
        all_due_now()
        assert starts.relay_due(kind="runs") == 0
    execution = WorkflowExecution.objects.get(pk=answer.json()["id"])
    assert (execution.status, execution.attempts, execution.next_attempt_at) == (ExecutionStatus.FAILED, 2, None)
    assert execution.error.startswith("Gave up after 2 attempts. Last error: Could not start the workflow")
    all_due_now()
    assert starts.relay_due(kind="runs") == 0
