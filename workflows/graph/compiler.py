"""Compile a validated definition into a `Plan`: the frozen tree the interpreter workflow walks.

Semantics the plan is built for (dead-path elimination): a node runs once every incoming edge is
resolved and at least one was taken; when a node finishes, `edges_from(node, handle)` are taken
and its other outgoing edges are resolved as not taken; a node whose incoming edges are
all not taken is skipped, and all its outgoing edges are not taken in turn. So a join after a
Decision runs once, and an Approval rejected with no `rejected` edge ends its path.

A plan is JSON-safe through `to_dict()`/`from_dict()`, so it is stored on a version row and
passed to the workflow as is.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any

from workflows.graph.nodes import node_type
from workflows.graph.validation import GraphError, GraphLimits, analyse

PLAN_FORMAT = 1


class GraphInvalid(ValueError):
    """The definition has problems; `errors` lists every one."""

    def __init__(self, errors: list[GraphError]) -> None:
        super().__init__(f"the definition has {len(errors)} problem(s): " + "; ".join(e.message for e in errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class PlanEdge:
    """An edge; `handle` is the source's branch (`true`/`false`, `approved`/`rejected`) or None."""

    id: str
    source: str
    target: str
    handle: str | None


@dataclass(frozen=True)
class PlanNode:
    """A node with its canonical type, normalised data and edges (incoming as ids)."""

    id: str
    type: str
    data: dict[str, Any]
    incoming: tuple[str, ...]
    outgoing: tuple[PlanEdge, ...]


@dataclass(frozen=True)
class Plan:
    """A compiled workflow: its Start node id, nodes by id and a topological order."""

    start: str
    nodes: dict[str, PlanNode]
    order: tuple[str, ...]

    def edges_from(self, node_id: str, handle: str | bool | None = None) -> tuple[PlanEdge, ...]:
        """The edges to follow when `node_id` finishes through `handle`.

        A node without handles follows all its edges (any handle given is ignored); a Decision or
        Approval needs one (`True`/`"yes"` mean `"true"`) and follows only that branch.
        """
        node = self.nodes[node_id]
        kind = node_type(node.type)
        if kind is None or not kind.handles:
            return node.outgoing
        chosen = kind.normalise_handle(handle)
        if chosen not in kind.handles:
            raise ValueError(f"{node.type} {node_id!r} finishes through one of {kind.handles}, not {handle!r}")
        return tuple(edge for edge in node.outgoing if edge.handle == chosen)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; `Plan.from_dict` reads it back."""
        return {
            "format": PLAN_FORMAT,
            "start": self.start,
            "order": list(self.order),
            "nodes": {
                node.id: {
                    "id": node.id,
                    "type": node.type,
                    "data": node.data,
                    "incoming": list(node.incoming),
                    "outgoing": [
                        {"id": e.id, "source": e.source, "target": e.target, "handle": e.handle} for e in node.outgoing
                    ],
                }
                for node in self.nodes.values()
            },
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Plan":
        """Rebuild a plan from `to_dict()` output."""
        if raw.get("format") != PLAN_FORMAT:
            raise ValueError(f"unsupported plan format {raw.get('format')!r}; expected {PLAN_FORMAT}")
        nodes = {
            node_id: PlanNode(
                id=node["id"],
                type=node["type"],
                data=dict(node["data"]),
                incoming=tuple(node["incoming"]),
                outgoing=tuple(PlanEdge(e["id"], e["source"], e["target"], e["handle"]) for e in node["outgoing"]),
            )
            for node_id, node in raw["nodes"].items()
        }
        return cls(start=raw["start"], nodes=nodes, order=tuple(raw["order"]))


def _topological_order(node_ids: list[str], edges: Iterable[PlanEdge]) -> tuple[str, ...]:
    """Kahn's algorithm; ties go to the node listed first in the definition, so it is stable."""
    position = {node_id: index for index, node_id in enumerate(node_ids)}
    waiting = dict.fromkeys(node_ids, 0)
    successors: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for edge in edges:
        waiting[edge.target] += 1
        successors[edge.source].append(edge.target)
    ready = [(position[n], n) for n, count in waiting.items() if count == 0]
    order: list[str] = []
    while ready:
        _, node_id = heappop(ready)
        order.append(node_id)
        for target in successors[node_id]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heappush(ready, (position[target], target))
    return tuple(order)


def compile_definition(definition: dict[str, Any], limits: GraphLimits | None = None) -> Plan:
    """Validate and compile a ReactFlow definition; raise GraphInvalid carrying every problem.

    Linear in the definition's size: edges are grouped by node once, not searched per node."""
    analysis = analyse(definition, limits)
    if analysis.errors or analysis.start is None:
        raise GraphInvalid(analysis.errors)
    edges = [PlanEdge(e.id, e.source, e.target, e.handle) for e in sorted(analysis.edges, key=lambda e: e.index)]
    node_ids = [node.id for node in sorted(analysis.nodes.values(), key=lambda n: n.index)]
    incoming: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    outgoing: dict[str, list[PlanEdge]] = {node_id: [] for node_id in node_ids}
    for edge in edges:
        incoming[edge.target].append(edge.id)
        outgoing[edge.source].append(edge)
    nodes = {
        node_id: PlanNode(
            id=node_id,
            type=analysis.nodes[node_id].type.name,
            data=analysis.nodes[node_id].data,
            incoming=tuple(incoming[node_id]),
            outgoing=tuple(outgoing[node_id]),
        )
        for node_id in node_ids
    }
    return Plan(start=analysis.start, nodes=nodes, order=_topological_order(node_ids, edges))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _engine_view(definition: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """Nodes and edges by id, reduced to what the engine reads (no position, selection, style...)."""
    if not isinstance(definition, dict):
        return {}, {}
    nodes: dict[str, Any] = {}
    for raw in _list(definition.get("nodes")):
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            kind = node_type(raw.get("type"))
            nodes[raw["id"]] = {"type": kind.name if kind else raw.get("type"), "data": raw.get("data")}
    edges: dict[str, Any] = {}
    for raw in _list(definition.get("edges")):
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            source = nodes.get(raw["source"], {}) if isinstance(raw.get("source"), str) else {}
            kind = node_type(source.get("type"))
            handle = kind.normalise_handle(raw.get("sourceHandle")) if kind else raw.get("sourceHandle") or None
            edges[raw["id"]] = {"source": raw.get("source"), "target": raw.get("target"), "handle": handle}
    return nodes, edges


def diff_definitions(old: object, new: object) -> dict[str, list[str]]:
    """Node and edge ids added, removed or changed between two definitions.

    "Changed" compares engine content only (type, data, source, target, handle), so moving or
    selecting a node in the editor is not a change. Ids are listed in definition order.
    """
    (old_nodes, old_edges), (new_nodes, new_edges) = _engine_view(old), _engine_view(new)
    result: dict[str, list[str]] = {}
    for kind, before, after in (("nodes", old_nodes, new_nodes), ("edges", old_edges, new_edges)):
        result[f"{kind}_added"] = [key for key in after if key not in before]
        result[f"{kind}_removed"] = [key for key in before if key not in after]
        result[f"{kind}_changed"] = [key for key in after if key in before and before[key] != after[key]]
    return result
