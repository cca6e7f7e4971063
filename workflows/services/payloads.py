"""Step outputs above the payload limit stay in PostgreSQL (their `StepExecution` row, scoped to
the tenant) and travel through Temporal as references (`workflows.temporal.refs`)."""

from typing import Any

from django.conf import settings

from workflows.models import StepExecution
from workflows.temporal import refs


def payload_limit() -> int:
    """Bytes above which a step's output (or a part of it) travels by reference."""
    return int(settings.WORKFLOW_PAYLOAD_INLINE_BYTES)


def output_for_payload(*, node_id: str, output: Any) -> Any:
    """The step's output as the workflow receives it: oversized parts replaced by references."""
    return refs.shrink(output, node_id=node_id, limit=payload_limit())


def variables_resolve(*, tenant_id: int, execution_id: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The template variables a step renders with, its references read back from the run's rows.

    Older runs send `variables` (input and outputs merged) themselves; newer ones send `input` and
    `steps` only, and the merge happens here, after the stored values are back.
    """
    steps = variables.get("steps") or {}
    wanted = {found["node"] for found in refs.refs_in(steps)}
    if not wanted and "variables" in variables:
        return variables
    outputs = dict(
        StepExecution.objects.for_tenant(tenant_id)
        .filter(execution_id=execution_id, node_id__in=wanted)
        .values_list("node_id", "output")
    )
    missing = wanted - set(outputs)
    if missing:
        raise LookupError(f"stored outputs of {', '.join(sorted(missing))} are missing")
    return refs.merged_variables(variables.get("input") or {}, refs.resolve(steps, outputs))
