"""References to step outputs kept in PostgreSQL instead of travelling in Temporal payloads.

Pure (no Django): the workflow builds whole-step references with it, the activities build the
references inside an oversized output and resolve both kinds before a step renders its templates.

A reference is `{"$stored": {"node": <node id>, "path": [<key>, ...], "bytes": <size>}}`: the value
at `path` inside the `output` of that node's `StepExecution` row of the same run (and tenant).
"""

import json
from typing import Any

MARKER = "$stored"


def size_of(value: Any) -> int:
    """Bytes of `value` as compact JSON (the measure of payload limits)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def ref(node_id: str, path: list[str], size: int) -> dict[str, Any]:
    return {MARKER: {"node": node_id, "path": list(path), "bytes": size}}


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARKER), dict)


def shrink(value: Any, *, node_id: str, limit: int, path: tuple[str, ...] = ()) -> Any:
    """`value` with every part that would make it exceed `limit` bytes replaced by a reference.

    Small fields stay inline (a decision can still test `steps.hook.status_code` when the body
    is stored): a dict too large is shrunk child by child, largest first, down to the limit.
    """
    size = size_of(value)
    if size <= limit:
        return value
    if not isinstance(value, dict):
        return ref(node_id, list(path), size)
    children = {key: shrink(child, node_id=node_id, limit=limit, path=(*path, key)) for key, child in value.items()}
    sizes = {key: size_of(child) for key, child in children.items()}
    total = size_of(children)
    for key in sorted(sizes, key=sizes.get, reverse=True):
        if total <= limit:
            break
        if not is_ref(children[key]):
            children[key] = ref(node_id, [*path, key], sizes[key])
            total -= sizes[key] - size_of(children[key])
    return children


def refs_in(value: Any) -> list[dict[str, Any]]:
    """Every reference inside `value` (dicts and lists walked)."""
    if is_ref(value):
        return [value[MARKER]]
    if isinstance(value, dict):
        return [found for child in value.values() for found in refs_in(child)]
    if isinstance(value, list):
        return [found for child in value for found in refs_in(child)]
    return []


def resolve(value: Any, outputs: dict[str, Any]) -> Any:
    """`value` with its references replaced by the stored values (`outputs`: node id -> output)."""
    if is_ref(value):
        target = outputs.get(value[MARKER]["node"])
        for key in value[MARKER]["path"]:
            target = target[key]
        return target
    if isinstance(value, dict):
        return {key: resolve(child, outputs) for key, child in value.items()}
    if isinstance(value, list):
        return [resolve(child, outputs) for child in value]
    return value


def merged_variables(run_input: dict[str, Any], steps: dict[str, Any]) -> dict[str, Any]:
    """What templates see: the input, each step's output, and `variables` (input and outputs merged)."""
    merged: dict[str, Any] = dict(run_input)
    for output in steps.values():
        if isinstance(output, dict):
            merged.update(output)
    return {"input": run_input, "steps": dict(steps), "variables": merged}
