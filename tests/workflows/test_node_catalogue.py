"""The node-type catalogue the editor draws from: built from the engine's registry, so it cannot
drift from what the validator accepts; served by `GET /api/v1/node-types` and on the editor page."""

import pytest

from tests.workflows.conftest import api_as
from workflows.graph import validate_definition
from workflows.graph.catalogue import node_catalogue
from workflows.graph.nodes import NODE_TYPES

KINDS = {"text", "textarea", "select", "checkbox", "list", "json", "messages", "number", "tools"}


def test_every_registered_type_and_only_those_is_in_the_catalogue_with_its_handles():
    catalogue = node_catalogue()

    assert list(catalogue) == list(NODE_TYPES)
    for name, node_type in NODE_TYPES.items():
        entry = catalogue[name]
        assert (entry["alias"], entry["handles"]) == (node_type.alias, list(node_type.handles))
        assert (entry["incoming"], entry["outgoing"]) == (node_type.can_have_incoming, node_type.can_have_outgoing)
        assert entry["label"] and entry["color"].startswith("#") and entry["help"]
        assert {field["kind"] for field in entry["fields"]} <= KINDS


def test_each_types_defaults_are_data_the_validator_accepts_on_that_node():
    """A node dropped from the palette carries its defaults: none of them may be invalid as such."""
    for name, entry in node_catalogue().items():
        graph = {
            "nodes": [{"id": "n", "type": name, "position": {"x": 0, "y": 0}, "data": entry["defaults"]}],
            "edges": [],
        }
        invalid = [e for e in validate_definition(graph) if e.node_id == "n" and e.code == "invalid_field"]
        assert invalid == [], f"{name} defaults: {invalid}"


def test_the_llm_and_media_nodes_show_every_field_their_validator_reads():
    """The agent's tools, steps and budget, the image, transcription and extraction settings: a field
    missing here would be one the side panel cannot edit."""
    catalogue = node_catalogue()

    def names(node):
        return {field["name"]: field["kind"] for field in catalogue[node]["fields"]}

    agent = names("AgentNode")
    assert agent["tools"] == "tools" and agent["max_steps"] == "number" and agent["output_schema"] == "json"
    assert {"route", "provider", "model", "instructions", "prompt", "budget_usd"} <= set(agent)
    assert {"route", "provider", "model", "prompt", "size", "quality", "n"} <= set(names("ImageNode"))
    assert {"route", "provider", "model", "media", "language"} <= set(names("TranscribeNode"))
    assert {"media", "max_chars", "max_pages"} <= set(names("ExtractNode"))
    assert [catalogue[name]["alias"] for name in ("AgentNode", "ImageNode", "TranscribeNode", "ExtractNode")] == [
        "agent",
        "image",
        "transcribe",
        "extract",
    ]


def test_show_if_names_a_field_of_the_same_type():
    for entry in node_catalogue().values():
        names = {field["name"] for field in entry["fields"]}
        for field in entry["fields"]:
            if "show_if" in field:
                assert field["show_if"]["field"] in names


@pytest.mark.django_db
def test_the_api_serves_the_catalogue_to_any_member(acme):
    response = api_as(acme, "vic").get("/api/v1/node-types")

    assert response.status_code == 200
    assert response.json()["ApprovalNode"]["handles"] == ["approved", "rejected"]
    assert "allowStarter" in {field["name"] for field in response.json()["ApprovalNode"]["fields"]}
