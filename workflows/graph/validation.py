"""Validation of a ReactFlow definition (`{"nodes": [...], "edges": [...], "viewport": {...}}`).

Every problem is reported at once, each naming its node or edge and field, and no input makes it
raise: the editor shows the list as the user types. ReactFlow's own keys (position, measured,
selected, style, markerEnd, ...) are accepted and ignored.

A definition larger than its `GraphLimits` (nodes, edges, JSON size of the whole and of one node's
data, length of one template) is refused with those problems alone, before anything else is
looked at. Everything after that runs in time linear in the definition's size (the editor's
validation endpoint needs only the view role), and at most `MAX_REPORTED_ERRORS` are listed.
"""

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from workflows.graph.nodes import NodeType, node_type


@dataclass(frozen=True)
class GraphError:
    """One problem in a definition.

    `field` names what is wrong in the node or edge: a key of the node (`id`, `type`, `data`), a key
    inside its `data` (`quorum`, `fields.total`, `body.items[0].name`), or a key of the edge
    (`source`, `target`, `sourceHandle`); whole-definition problems leave it None.
    """

    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-safe form for the API."""
        return asdict(self)


MAX_REPORTED_ERRORS = 200


@dataclass(frozen=True)
class GraphLimits:
    """How large one definition may be. The defaults are the settings' defaults; callers that read
    settings (this module reads none) pass theirs."""

    max_nodes: int = 500
    max_edges: int = 2_000
    max_definition_chars: int = 1_000_000
    max_node_data_chars: int = 100_000
    max_template_chars: int = 20_000


def _json_size(value: object) -> int | None:
    try:
        return len(json.dumps(value, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError):
        return None


def _long_strings(value: Any, limit: int, path: str = "") -> Iterable[str]:
    """Paths of the strings inside `value` longer than `limit` (iteratively: data may nest deeply)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str) and len(item) > limit:
            yield where
        elif isinstance(item, dict):
            stack.extend((child, f"{where}.{key}" if where else str(key)) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))


def limit_errors(definition: object, limits: GraphLimits) -> list[GraphError]:
    """The limits a definition exceeds, each naming it (`field` is the limit's name)."""
    if not isinstance(definition, dict):
        return []
    errors: list[GraphError] = []
    nodes, edges = definition.get("nodes"), definition.get("edges")
    for name, value, limit in (("nodes", nodes, limits.max_nodes), ("edges", edges, limits.max_edges)):
        if isinstance(value, list) and len(value) > limit:
            message = f"the definition has {len(value)} {name}; the limit is {limit} (max_{name})"
            errors.append(GraphError("too_large", message, field=f"max_{name}"))
    if errors:
        return errors  # no need to measure the rest of something this large
    size = _json_size(definition)
    if size is None or size > limits.max_definition_chars:
        message = f"the definition is larger than {limits.max_definition_chars} characters of JSON"
        return [GraphError("too_large", message + " (max_definition_chars)", field="max_definition_chars")]
    for raw in nodes if isinstance(nodes, list) else []:
        if not (isinstance(raw, dict) and isinstance(raw.get("data"), dict)):
            continue
        node_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if (_json_size(raw["data"]) or 0) > limits.max_node_data_chars:
            message = f"node {node_id!r}: its data is larger than {limits.max_node_data_chars} characters of JSON"
            errors.append(GraphError("too_large", message + " (max_node_data_chars)", node_id, field="data"))
            continue
        for where in _long_strings(raw["data"], limits.max_template_chars):
            message = f"node {node_id!r}: {where} is longer than {limits.max_template_chars} characters"
            errors.append(GraphError("too_large", message + " (max_template_chars)", node_id, field=where))
    return errors


@dataclass
class ParsedNode:
    """A node with a known type and its normalised data (its position in the definition kept)."""

    id: str
    type: NodeType
    data: dict[str, Any]
    index: int


@dataclass
class ParsedEdge:
    """An edge between known nodes whose handle is valid for its source (normalised)."""

    id: str
    source: str
    target: str
    handle: str | None
    index: int


@dataclass
class Analysis:
    """What validation learnt: the errors, plus the well-formed parts the compiler builds on."""

    errors: list[GraphError] = field(default_factory=list)
    nodes: dict[str, ParsedNode] = field(default_factory=dict)
    edges: list[ParsedEdge] = field(default_factory=list)
    start: str | None = None


def _label(node: ParsedNode) -> str:
    return f"{node.type.name.removesuffix('Node')} {node.id!r}"


class _Analyser:
    def __init__(self, limits: GraphLimits) -> None:
        self.limits = limits
        self.result = Analysis()
        self.ids: dict[str, int] = {}  # every node id seen, typed or not, with its position
        self.structure: list[tuple[str, str]] = []  # edges between known ids, for graph checks

    def error(self, code: str, message: str, **where: str | None) -> None:
        self.result.errors.append(GraphError(code, message, **where))

    def run(self, definition: object) -> Analysis:
        if not isinstance(definition, dict):
            self.error("invalid_definition", "the definition must be an object with nodes and edges")
            return self.result
        if too_large := limit_errors(definition, self.limits):
            self.result.errors = too_large
            return self.result
        nodes, edges = definition.get("nodes"), definition.get("edges")
        for name, value in (("nodes", nodes), ("edges", edges)):
            if not isinstance(value, list):
                self.error(f"invalid_{name}", f"{name} must be a list", field=name)
        self.read_nodes(nodes if isinstance(nodes, list) else [])
        self.read_edges(edges if isinstance(edges, list) else [])
        self.check_branches()
        self.check_structure()
        if len(errors := self.result.errors) > MAX_REPORTED_ERRORS:
            more = GraphError("too_many_errors", f"and {len(errors) - MAX_REPORTED_ERRORS} more problems")
            self.result.errors = [*errors[:MAX_REPORTED_ERRORS], more]
        return self.result

    def read_nodes(self, nodes: list[Any]) -> None:
        starts: list[str] = []
        for index, raw in enumerate(nodes):
            if not isinstance(raw, dict):
                self.error("invalid_node", f"nodes[{index}] must be an object", field=f"nodes[{index}]")
                continue
            node_id = raw.get("id")
            if not (isinstance(node_id, str) and node_id):
                self.error("invalid_node", f"nodes[{index}] has no id", field=f"nodes[{index}].id")
                continue
            if node_id in self.ids:
                self.error(
                    "duplicate_node_id", f"more than one node has the id {node_id!r}", node_id=node_id, field="id"
                )
                continue
            self.ids[node_id] = index
            kind = node_type(raw.get("type"))
            if kind is None:
                message = f"node {node_id!r} has an unknown type {raw.get('type')!r}"
                self.error("unknown_node_type", message, node_id=node_id, field="type")
                continue
            data = raw.get("data", {})
            if not isinstance(data, dict):
                self.error("invalid_data", f"node {node_id!r}: data must be an object", node_id=node_id, field="data")
                data = {}
            normalised, problems = kind.check(data)
            for problem in problems:
                message = f"{kind.name.removesuffix('Node')} {node_id!r}: {problem.message}"
                self.error(problem.code, message, node_id=node_id, field=problem.field)
            self.result.nodes[node_id] = ParsedNode(node_id, kind, normalised, index)
            if kind.name == "StartNode":
                starts.append(node_id)
        if not starts:
            self.error("missing_start", "the workflow needs a Start node")
        elif len(starts) > 1:
            for node_id in starts:
                message = f"the workflow has {len(starts)} Start nodes ({', '.join(starts)}); keep one"
                self.error("multiple_starts", message, node_id=node_id, field="type")
        else:
            self.result.start = starts[0]

    def read_edges(self, edges: list[Any]) -> None:
        seen: set[str] = set()
        for index, raw in enumerate(edges):
            if not isinstance(raw, dict) or not (isinstance(raw.get("id"), str) and raw["id"]):
                where = f"edges[{index}]" + ("" if not isinstance(raw, dict) else ".id")
                self.error("invalid_edge", f"{where} must be an object with an id", field=where)
                continue
            edge_id = raw["id"]
            if edge_id in seen:
                self.error(
                    "duplicate_edge_id", f"more than one edge has the id {edge_id!r}", edge_id=edge_id, field="id"
                )
                continue
            seen.add(edge_id)
            ends_known = True
            for end in ("source", "target"):
                if not isinstance(raw.get(end), str) or raw[end] not in self.ids:
                    message = f"edge {edge_id!r}: its {end} {raw.get(end)!r} is not a node"
                    self.error("unknown_node", message, edge_id=edge_id, field=end)
                    ends_known = False
            if not ends_known:
                continue
            source, target = raw["source"], raw["target"]
            self.structure.append((source, target))
            self.read_edge(edge_id, source, target, raw.get("sourceHandle"), index)

    def read_edge(self, edge_id: str, source: str, target: str, raw_handle: object, index: int) -> None:
        origin, destination = self.result.nodes.get(source), self.result.nodes.get(target)
        if destination is not None and not destination.type.can_have_incoming:
            message = f"{_label(destination)} cannot have incoming edges"
            self.error("start_has_incoming", message, node_id=target, edge_id=edge_id, field="target")
        if origin is None:
            return
        if not origin.type.can_have_outgoing:
            message = f"{_label(origin)} cannot have outgoing edges"
            self.error("end_has_outgoing", message, node_id=source, edge_id=edge_id, field="source")
            return
        handle = origin.type.normalise_handle(raw_handle)
        allowed = origin.type.handles
        if (handle not in allowed) if allowed else (handle is not None):
            expected = f"one of {', '.join(allowed)}" if allowed else "no handle"
            message = f"edge {edge_id!r} leaves {_label(origin)} from handle {raw_handle!r}; expected {expected}"
            self.error("invalid_handle", message, node_id=source, edge_id=edge_id, field="sourceHandle")
            return
        if destination is not None:
            self.result.edges.append(ParsedEdge(edge_id, source, target, handle, index))

    def check_branches(self) -> None:
        sources = {source for source, _ in self.structure}
        outgoing: dict[str, list[ParsedEdge]] = {}
        for edge in self.result.edges:
            outgoing.setdefault(edge.source, []).append(edge)
        for node in self.result.nodes.values():
            edges = outgoing.get(node.id, [])
            if node.type.name == "DecisionNode":
                for handle in ("true", "false"):
                    count = sum(edge.handle == handle for edge in edges)
                    if count != 1:
                        code = "missing_branch" if count == 0 else "duplicate_branch"
                        message = f"{_label(node)} needs exactly one edge from its {handle} handle, not {count}"
                        self.error(code, message, node_id=node.id, field="sourceHandle")
            elif node.type.name == "ApprovalNode":
                if not any(edge.handle == "approved" for edge in edges):
                    message = f"{_label(node)} needs an edge from its approved handle"
                    self.error("missing_branch", message, node_id=node.id, field="sourceHandle")
            elif node.type.can_have_outgoing and node.id not in sources:
                message = f"{_label(node)} leads nowhere; connect it to the next step or an End node"
                self.error("dead_end", message, node_id=node.id)

    def check_structure(self) -> None:
        successors: dict[str, list[str]] = {node_id: [] for node_id in self.ids}
        for source, target in self.structure:
            successors[source].append(target)
        for cycle in _cycles(successors, self.ids):
            message = "these nodes form a cycle, which is not allowed: " + " → ".join([*cycle, cycle[0]])
            self.error("cycle", message, node_id=cycle[0])
        roots = [n for n in self.result.nodes.values() if n.type.name == "StartNode"]
        if not roots:
            if not any(n.type.name == "EndNode" for n in self.result.nodes.values()):
                self.error("no_path_to_end", "the workflow needs an End node")
            return
        reached = _reachable(successors, [root.id for root in roots])
        for node_id in self.ids:
            if node_id not in reached:
                self.error("unreachable_node", f"node {node_id!r} cannot be reached from Start", node_id=node_id)
        if not any(self.result.nodes[n].type.name == "EndNode" for n in reached if n in self.result.nodes):
            message = "no path leads from Start to an End node"
            self.error("no_path_to_end", message, node_id=roots[0].id)


def _reachable(successors: dict[str, list[str]], roots: Iterable[str]) -> set[str]:
    reached, stack = set(roots), list(roots)
    while stack:
        for target in successors[stack.pop()]:
            if target not in reached:
                reached.add(target)
                stack.append(target)
    return reached


def _cycles(successors: dict[str, list[str]], position: dict[str, int]) -> list[list[str]]:
    """Each strongly connected group of nodes that loops, as one cycle path (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in position:
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in successors[node]:
                        groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    groups.sort(key=lambda group: min(position[member] for member in group))
    return [_cycle_path(group, successors, position) for group in groups]


def _cycle_path(group: list[str], successors: dict[str, list[str]], position: dict[str, int]) -> list[str]:
    """A concrete loop through the group, from its earliest node in the definition."""
    members = set(group)
    first = min(group, key=position.__getitem__)
    path, node = [first], first
    on_path = {first: 0}  # node -> index in path: membership and slicing in constant time
    while True:
        candidates = [target for target in successors[node] if target in members]
        following = first if first in candidates else next((t for t in candidates if t not in on_path), candidates[0])
        if following in on_path:
            return path[on_path[following] :]
        on_path[following] = len(path)
        path.append(following)
        node = following


def analyse(definition: object, limits: GraphLimits | None = None) -> Analysis:
    """Validate and keep the well-formed parts; used by the compiler."""
    return _Analyser(limits or GraphLimits()).run(definition)


def validate_definition(definition: object, limits: GraphLimits | None = None) -> list[GraphError]:
    """Every problem in a definition; an empty list means it compiles."""
    return analyse(definition, limits).errors
