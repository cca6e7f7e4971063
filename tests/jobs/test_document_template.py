"""The document-processing template end to end: upload a PDF, run the template with its id on real
workers against the fake LLM provider, and find the record with the fields."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.services import media
from tenants.selectors import active_tenant_refs
from tests.jobs import media_files
from tests.jobs.test_media import upload
from tests.llm.conftest import acme, fake_llm, globex, prices  # noqa: F401  (shared fixtures)
from tests.support.fake_llm import Reply
from tests.workflows.conftest import api_as, start, wait_result
from workflows import library
from workflows.graph import validate_definition
from workflows.models import Record, StepExecution, WorkflowExecution


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media-root")
    return tmp_path / "media-root"


@pytest.fixture
def workers(start_workers, acme):  # noqa: F811
    return start_workers(tenant_source=active_tenant_refs)


def test_uploaded_pdf_becomes_a_record_through_the_template(fake_llm, acme, workers, media_root):  # noqa: F811
    fields = {"title": "Invoice 1001", "parties": ["Acme Tools", "Ada Lovelace"], "dates": []}
    fake_llm.script("openai", [Reply(json.dumps(fields))])
    api = api_as(acme, "erin")
    asset_id = upload(api, "invoice.pdf", media_files.pdf_with_pages(), "application/pdf").json()["id"]
    workflow_id = api.post("/api/v1/workflow-templates/document-processing/instantiate", {}, format="json").json()["id"]
    # Started at once: the extract step waits for the upload to be processed.
    started = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"input": {"media": asset_id}}, format="json")
    assert started.status_code == 202, started.content
    execution = wait_result(WorkflowExecution.objects.for_tenant(acme).get(pk=started.json()["id"]), timeout=60)
    assert execution.status == "completed", execution.error

    record = Record.objects.for_tenant(acme).get(collection="documents", key=str(asset_id))
    assert json.loads(record.fields["extracted"]) == fields
    assert record.fields["name"] == "invoice.pdf"
    prompt = fake_llm.last("openai").body["messages"][1]["content"]
    assert prompt.split("\f") == media_files.PAGE_TEXTS
    read = StepExecution.objects.for_tenant(acme).get(execution=execution, node_id="read").output
    assert (read["pages"], read["characters"], read["rest"]) == (3, len(prompt), None)


def test_long_text_is_cut_with_a_reference_to_the_rest(acme, media_root):  # noqa: F811
    from jobs.services import media_processing

    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("a.pdf", media_files.pdf_with_pages()))
    media_processing.media_process_document(tenant_id=acme.pk, asset_id=asset.pk)
    graph = {
        "nodes": [
            {"id": "s", "type": "StartNode", "data": {}},
            {"id": "read", "type": "ExtractNode", "data": {"media": "{{ input.media }}", "max_chars": 10}},
            {"id": "e", "type": "EndNode", "data": {}},
        ],
        "edges": [{"id": "a", "source": "s", "target": "read"}, {"id": "b", "source": "read", "target": "e"}],
    }
    from workflows.services import steps

    output = steps.media_extract(tenant_id=acme.pk, data={"media": "{{ input.media }}", "max_chars": 10},
                                 variables={"input": {"media": asset.pk}})  # fmt: skip
    assert output["text"] == "Invoice 10"
    assert output["truncated"] is True
    assert output["rest"] == {"url": f"/api/v1/media/{asset.pk}/text?offset=10", "offset": 10}
    first_page = steps.media_extract(tenant_id=acme.pk, data={"media": str(asset.pk), "max_chars": 1000,
                                     "max_pages": 1}, variables={})  # fmt: skip
    assert first_page["text"] == media_files.PAGE_TEXTS[0]
    assert validate_definition(graph) == []
    bad = {**graph, "nodes": [*graph["nodes"][:1], {"id": "read", "type": "ExtractNode", "data": {"max_chars": 0}},
                              graph["nodes"][2]]}  # fmt: skip
    assert {(e.field, e.code) for e in validate_definition(bad)} >= {
        ("media", "missing_field"),
        ("max_chars", "invalid_field"),
    }


def test_extract_of_a_foreign_or_failed_asset_fails_the_run(fake_llm, acme, globex, workers, media_root):  # noqa: F811
    foreign = media.media_upload(tenant=globex, upload=SimpleUploadedFile("g.txt", b"globex secret"))
    broken = media.media_upload(tenant=acme, upload=SimpleUploadedFile("b.pdf", media_files.corrupt_pdf()))
    for asset, reason in [(foreign, "does not exist in this tenant"), (broken, "could not be processed")]:
        execution = wait_result(start(acme, library.DOCUMENT_PROCESSING.definition, {"media": asset.pk}), timeout=60)
        assert execution.status == "failed"
        assert reason in execution.error
    assert not Record.objects.for_tenant(acme).exists()
    assert fake_llm.hits("openai") == 0
