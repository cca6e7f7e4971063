"""Look inside raw Temporal histories the way someone with access to Temporal (and no keys) can."""

from collections.abc import Iterator

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory

SEARCH_ATTRIBUTES = "temporal.api.common.v1.SearchAttributes"


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every `Payload` anywhere in a protobuf message (inputs, results, memos, failures, headers...)
    except search attributes, which Temporal must read to index them and hold ids only."""
    if message.DESCRIPTOR.full_name == SEARCH_ATTRIBUTES:
        return
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.is_repeated:
            items = value.values() if field.message_type.GetOptions().map_entry else value
            for item in items:
                if isinstance(item, Message):
                    yield from payloads_in(item)
        else:
            yield from payloads_in(value)


# In its own markers the SDK writes its bookkeeping in plain JSON: a `workflow.patched` marker holds
# the patch id, a local activity's marker its id, type and attempt beside the `result`, which is
# the only part that is the workflow's data.
PATCH_MARKER = "core_patch"
SDK_MARKER_DETAILS = {"data"}


def history_payloads(history: WorkflowHistory) -> list[Payload]:
    """Every payload of the workflow's own data in `history` (inputs, results, failures, memos...)."""
    payloads = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == PATCH_MARKER:
                continue
            for name, value in marker.details.items():
                if name not in SDK_MARKER_DETAILS:
                    payloads.extend(payloads_in(value))
            continue
        payloads.extend(payloads_in(event))
    return payloads


def raw_bytes(history: WorkflowHistory) -> bytes:
    """The history as stored: a plain payload's data, and every string, appears here verbatim."""
    return b"".join(event.SerializeToString() for event in history.events)
