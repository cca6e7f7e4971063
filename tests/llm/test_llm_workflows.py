"""The LLM workflows on real workers: batch, the LLM node in a graph, tenant isolation, and
template payloads that must render inert."""

import copy
import json

import pytest
from django.conf import settings as django_settings

from llm.models import LLMUsage
from tenants.selectors import active_tenant_refs
from tests.llm.conftest import api_as
from tests.llm.test_gateway import ask
from tests.support.fake_llm import Error, Reply
from tests.workflows.conftest import wait_result, wait_until
from workflows import library
from workflows.models import Record
from workflows.services import definitions, executions


def _text_to_record() -> dict:
    """The document-processing template with its text given in the input (no upload to read)."""
    graph = copy.deepcopy(library.DOCUMENT_PROCESSING.definition)
    graph["nodes"] = [node for node in graph["nodes"] if node["id"] != "read"]
    graph["edges"] = [edge for edge in graph["edges"] if "read" not in (edge["source"], edge["target"])]
    graph["edges"].append({"id": "start-extract", "source": "start", "target": "extract"})
    extract = next(node for node in graph["nodes"] if node["id"] == "extract")
    extract["data"]["messages"][1]["content"] = "{{ input.document_text }}"
    store = next(node for node in graph["nodes"] if node["id"] == "store")
    store["data"]["key"] = "{{ input.document_id }}"
    store["data"]["fields"] = {"extracted": "{{ steps.extract.json | tojson }}"}
    return graph


@pytest.fixture
def workers(start_workers, acme):
    return start_workers(tenant_source=active_tenant_refs)


def test_batch_runs_items_and_records_each_result_or_error(fake_llm, acme, workers):
    fake_llm.script("mistral", [Error(400, message="bad item")])
    items = [
        {"route": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "first"}]},
        {"route": "mistral:mistral-small-latest", "messages": [{"role": "user", "content": "second"}]},
        {"route": "anthropic:claude-3-5-haiku-latest", "messages": [{"role": "user", "content": "third"}]},
    ]
    api = api_as(acme, "erin")
    started = api.post("/api/v1/llm/batch", {"items": items, "concurrency": 2}, format="json")
    assert started.status_code == 202
    batch_id = started.json()["id"]
    done = wait_until(
        lambda: (b := api.get(f"/api/v1/llm/batch/{batch_id}").json())["status"] not in ("pending", "running") and b,
        timeout=30,
        what="batch",
    )
    assert done["status"] == "completed_with_errors"
    results = sorted(done["results"], key=lambda r: r["index"])
    assert results[0]["result"]["content"] == "first"
    assert "bad item" in results[1]["error"]
    assert results[2]["result"]["content"] == "third"


def test_llm_node_result_feeds_the_next_step(fake_llm, acme, workers):
    fake_llm.script("openai", [Reply(json.dumps({"title": "Lease", "parties": ["A", "B"]}))])
    definition = definitions.definition_create(tenant=acme, name="Docs", graph=_text_to_record())
    execution = executions.execution_start(
        tenant=acme, definition=definition, input={"document_id": "d1", "document_text": "A leases to B."}
    )
    execution = wait_result(execution)
    assert execution.status == "completed", execution.error
    stored = Record.objects.for_tenant(acme).get(collection="documents", key="d1").fields
    assert json.loads(stored["extracted"]) == {"title": "Lease", "parties": ["A", "B"]}
    assert fake_llm.last("openai").body["messages"][1]["content"] == "A leases to B."
    row = LLMUsage.objects.for_tenant(acme).get()
    assert (row.scope, row.execution_id, row.node_id) == ("workflow", execution.id, "extract")


def test_llm_node_answer_outside_the_schema_fails_the_step(fake_llm, acme, workers):
    fake_llm.script("openai", [Reply("not json at all")])
    definition = definitions.definition_create(tenant=acme, name="Docs", graph=_text_to_record())
    execution = wait_result(
        executions.execution_start(tenant=acme, definition=definition, input={"document_id": "d", "document_text": "x"})
    )
    assert execution.status == "failed" and "output_schema" in execution.error


def test_foreign_batch_and_templates_are_not_visible(fake_llm, acme, globex):
    from llm.models import LLMBatch
    from llm.services import prompt_template_save

    batch = LLMBatch.objects.create(tenant=globex, id="llm-batch-foreign", total=1)
    prompt_template_save(tenant=globex, name="secret", user="hidden {{ x }}")
    api = api_as(acme, "erin")
    assert api.get(f"/api/v1/llm/batch/{batch.pk}").status_code == 404
    assert api.get("/api/v1/llm/batch/llm-batch-missing").status_code == 404
    assert api.get("/api/v1/llm/templates").json() == []
    assert (
        api.post("/api/v1/llm/execute", {"template": "secret", "variables": {"x": 1}}, format="json").status_code == 400
    )
    ask(api_as(globex, "gina"), route="openai:gpt-4o-mini")
    assert api.get("/api/v1/llm/analytics").json()["rows"] == []


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ config.items() }}",
    "{{ request.environ }}",
    "{{ settings.SECRET_KEY }}",
    "{{ range.__init__.__globals__ }}",
    "{{ (1).__class__.__base__.__subclasses__() }}",
    "{{ x.__class__.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ '%s' % 7 }}{{ '{0.__class__}'.format(x) }}",
    "{% include '/etc/passwd' %}",
    "{{ x|attr('__class__') }}",
    "{{ range(10**9)|list }}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_template_escape_payloads_render_inert(fake_llm, acme, payload):
    api = api_as(acme, "erin")
    saved = api.post("/api/v1/llm/templates", {"name": "probe", "user": payload}, format="json")
    if saved.status_code == 201:
        response = api.post(
            "/api/v1/llm/execute",
            {"template": "probe", "variables": {"x": "data"}, "route": "openai:gpt-4o-mini"},
            format="json",
        )
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            sent = fake_llm.last("openai").body["messages"][-1]["content"]
            assert "<class" not in sent and "__globals__" not in sent and django_settings.SECRET_KEY not in sent
            assert "root" not in sent and "uid=" not in sent
    else:
        assert saved.status_code == 400
