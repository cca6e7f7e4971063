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


def history_payloads(history: WorkflowHistory) -> list[Payload]:
    return [payload for event in history.events for payload in payloads_in(event)]


def raw_bytes(history: WorkflowHistory) -> bytes:
    """The history as stored: a plain payload's data, and every string, appears here verbatim."""
    return b"".join(event.SerializeToString() for event in history.events)
