"""Hostile input to the pure evaluators: CEL, Jinja and JSON Schema, and graph size limits.

Each case is something a tenant with editor rights can write. Each must end in a clear error that
names the field (and, where validation sees it, the node) within a few seconds, never in a process
running out of memory or CPU. The same code runs in workflow tasks, on activity threads and in web
requests, and it has no clock, so these cases measure elapsed time from the outside.
"""

import http.server
import threading
import time

import pytest

from mono.kernel import schemas
from mono.kernel.expressions import ExpressionError, compile_condition, run_context
from mono.kernel.templating import TemplateError, render
from tests.workflows import graphs
from workflows.graph.compiler import compile_definition
from workflows.graph.validation import GraphLimits, validate_definition

SECONDS = 10
ITEMS = ",".join(str(i) for i in range(1, 35))
CONTEXT = run_context({"items": list(range(1000)), "name": "Ada"}, {})


def _timed(function):
    started = time.perf_counter()
    try:
        return function()
    finally:
        assert time.perf_counter() - started < SECONDS


@pytest.mark.timeout(SECONDS)
@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        pytest.param(f'[{ITEMS}].reduce(r, i, "ab", r + r).size() > 0', "larger than", id="H1-string-doubling"),
        pytest.param(f"[{ITEMS}].reduce(r, i, [1], r + r).size() > 0", "larger than|steps", id="list-doubling"),
        pytest.param(f"[{ITEMS}].reduce(r, i, [1], [r, r]).size() > 0", "larger than", id="shared-list-tree"),
        pytest.param(f'[{ITEMS}].reduce(r, i, {{"a": 1}}, {{"a": r, "b": r}}).size() > 0', "larger", id="map-tree"),
        pytest.param('"%0999999999d" % 1 == ""', "no matching overload", id="printf-on-a-string"),
        pytest.param('"ab" * 1000000000 == ""', "no matching overload", id="string-repeat"),
        pytest.param(
            f"[{ITEMS}].map(a, [{ITEMS}].map(b, [{ITEMS}].map(c, [{ITEMS}].map(d, a)))).size() > 0",
            "steps",
            id="nested-macros",
        ),
        pytest.param("input.items.map(a, input.items.map(b, a * b)).size() > 0", "steps", id="input-squared"),
    ],
)
def test_hostile_conditions_fail_naming_the_field(condition, reason):
    with pytest.raises(ExpressionError, match=rf"^condition: .*({reason})") as caught:
        _timed(lambda: compile_condition(condition).evaluate(CONTEXT, field="condition"))
    assert caught.value.field == "condition"


@pytest.mark.timeout(SECONDS)
@pytest.mark.parametrize(
    ("template", "reason"),
    [
        pytest.param(
            "{% for i in range(10000) %}{{ ('<>'*499999)|striptags }}{% endfor %}", "steps", id="H2-striptags-loop"
        ),
        pytest.param(
            "{% set s = '<>' * 499999 %}{% for i in range(10000) %}{{ s|striptags }}{% endfor %}",
            "steps",
            id="striptags-on-a-kept-string",
        ),
        pytest.param("{{ [[1] * 1000] * 1000 | sum(start=[]) | length }}", "numbers only", id="sum-of-lists"),
        pytest.param("{{ range(1000)|map('string')|list|sum(start='') }}", "numbers only", id="sum-of-strings"),
        pytest.param("{% set l = ['a'] * 1000 %}{{ l|join('y' * 10000) }}", "join", id="join-filter-separator"),
        pytest.param("{{ ('x' * 1000).join(['a'] * 5000) }}", "join", id="str-join-separator"),
        pytest.param("{% set s = 'x' * 900000 %}{{ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s }}", "joined string", id="concat"),
        pytest.param("{{ ('a' * 900000)|trim('b' * 900000 ~ 'a') }}", "strip", id="trim-chars-product"),
        pytest.param("{{ ('a' * 900000).strip('b' * 90000) }}", "strip", id="str-strip-chars"),
        pytest.param("{{ input|tojson(100000) }}", "indent", id="tojson-indent"),
        pytest.param(
            "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
            "steps",
            id="exponential-macro",
        ),
        pytest.param(
            "{% for i in range(10000) %}{% for j in range(10000) %}{% if i == j and j == i %}{% endif %}"
            "{% endfor %}{% endfor %}",
            "steps",
            id="loop-body-cost",
        ),
        pytest.param("{{ input|pprint }}", "No filter named 'pprint'", id="pprint-not-allowed"),
    ],
)
def test_hostile_templates_fail_naming_the_field(template, reason):
    with pytest.raises(TemplateError, match=rf"^body: .*{reason}") as caught:
        _timed(lambda: render(template, CONTEXT, field="body"))
    assert caught.value.field == "body"


def _llm_node(schema) -> dict:
    return graphs.node(
        "ask", "LLMNode", route="openai:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], output_schema=schema
    )


def _with(node: dict) -> dict:
    start, end = graphs.edge("start", node["id"]), graphs.edge(node["id"], "end")
    return graphs.graph(graphs.START, node, graphs.END, start, end)


def _nested(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


@pytest.mark.timeout(SECONDS)
@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        pytest.param({"$ref": "http://169.254.169.254/latest/meta-data"}, "only local references", id="H3-remote"),
        pytest.param({"$ref": "file:///etc/passwd"}, "only local references", id="file-ref"),
        pytest.param(
            {"type": "object", "$defs": {"a": {"items": {"$dynamicRef": "https://evil.test/s#x"}}}},
            "only local references",
            id="nested-dynamic-ref",
        ),
        pytest.param({"$schema": "http://json-schema.org/draft-04/schema#"}, "2020-12", id="other-draft"),
        pytest.param(_nested(40), "nests deeper", id="too-deep"),
        pytest.param({"enum": ["x" * 100] * 700}, "larger than", id="too-large"),
        pytest.param({"patternProperties": {"(a+)+$": {}}}, "patternProperties", id="backtracking-keys"),
        pytest.param({"type": "nonsense"}, "not a valid Draft 2020-12 schema", id="meta-schema"),
    ],
)
def test_unsafe_output_schemas_are_refused_on_save_naming_node_and_field(schema, reason):
    errors = _timed(lambda: validate_definition(_with(_llm_node(schema))))
    problems = [e for e in errors if e.code == "invalid_schema"]
    assert [(e.node_id, e.field) for e in problems] == [("ask", "output_schema")]
    assert reason in problems[0].message


@pytest.mark.timeout(SECONDS)
def test_a_backtracking_pattern_is_matched_in_linear_time():
    with pytest.raises(schemas.SchemaError, match="does not match"):
        _timed(lambda: schemas.validate("a" * 100_000 + "!", {"type": "string", "pattern": "^(a+)+$"}))


class _Counter(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):
        _Counter.hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "string"}')

    def log_message(self, *args):
        pass


@pytest.mark.timeout(SECONDS)
def test_the_validation_registry_never_fetches_a_remote_reference():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/schema.json"
        validator = schemas._Validator({"$ref": url}, registry=schemas.NO_FETCH_REGISTRY)
        with pytest.raises(Exception, match=r"Unresolvable|cannot be resolved|NoSuchResource"):
            validator.validate("x")
        with pytest.raises(schemas.SchemaError, match="only local references"):
            schemas.validate("x", {"$ref": url})
    finally:
        server.shutdown()
    assert _Counter.hits == 0


def _ring(size: int) -> dict:
    nodes = [graphs.START] + [graphs.node(f"n{i}", "WaitNode", duration="PT1S") for i in range(size)]
    edges = [graphs.edge("start", "n0")] + [graphs.edge(f"n{i}", f"n{(i + 1) % size}") for i in range(size)]
    return {"nodes": nodes, "edges": edges}


@pytest.mark.timeout(SECONDS)
def test_a_50k_node_ring_is_refused_at_once_by_the_default_limits():
    errors = _timed(lambda: validate_definition(_ring(50_000)))
    assert [(e.code, e.field) for e in errors] == [("too_large", "max_nodes"), ("too_large", "max_edges")]


ROOMY = GraphLimits(max_nodes=100_000, max_edges=100_000, max_definition_chars=100_000_000)


@pytest.mark.timeout(SECONDS)
def test_validating_a_20k_node_ring_takes_linear_time_when_limits_allow_it():
    # Reporting the cycle used to search the path list at every step: some 2e8 comparisons here.
    errors = _timed(lambda: validate_definition(_ring(20_000), ROOMY))
    cycles = [e for e in errors if e.code == "cycle"]
    assert len(cycles) == 1 and cycles[0].node_id == "n0" and cycles[0].message.count("→") == 20_000


@pytest.mark.timeout(SECONDS)
def test_compiling_a_10k_node_chain_takes_linear_time_when_limits_allow_it():
    # Compiling used to scan every edge for every node: 1e8 comparisons here.
    size = 10_000
    nodes = [graphs.START, *(graphs.node(f"n{i}", "WaitNode", duration="PT1S") for i in range(size)), graphs.END]
    edges = [graphs.edge("start", "n0"), *(graphs.edge(f"n{i}", f"n{i + 1}") for i in range(size - 1))]
    edges.append(graphs.edge(f"n{size - 1}", "end"))
    plan = _timed(lambda: compile_definition({"nodes": nodes, "edges": edges}, ROOMY))
    assert len(plan.order) == size + 2 and plan.nodes["n7"].incoming == ("reactflow__edge-n6-n7",)


@pytest.mark.timeout(SECONDS)
def test_a_template_over_the_length_limit_names_node_and_field():
    long_body = graphs.node("hook", "WebhookNode", url="https://example.test", body={"text": "x" * 30_000})
    errors = validate_definition(_with(long_body))
    assert [(e.code, e.node_id, e.field) for e in errors] == [("too_large", "hook", "body.text")]
    assert "max_template_chars" in errors[0].message


@pytest.mark.timeout(SECONDS)
def test_a_filter_outside_the_allow_list_is_refused_on_save_naming_node_and_field():
    hook = graphs.node("hook", "WebhookNode", url="https://example.test", body={"text": "{{ input|urlize }}"})
    errors = validate_definition(_with(hook))
    assert [(e.code, e.node_id, e.field) for e in errors] == [("invalid_template", "hook", "body.text")]
