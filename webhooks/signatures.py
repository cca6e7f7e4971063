"""Standard Webhooks verification of an inbound request (headers + raw body), with `now` injectable.

The HMAC itself is the `standardwebhooks` library's (`Webhook.sign`); the timestamp check is done
here so a caller can pass the time it verifies at (the library reads the wall clock), and a
malformed header is refused with a reason instead of an exception from inside the library.
"""

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

TOLERANCE = timedelta(minutes=5)


class SignatureError(Exception):
    """The request is not signed by any of the secrets; the message says why (safe to show)."""


def verify(
    *, secrets: Iterable[str], headers: Mapping[str, str], body: bytes, now: datetime | None = None
) -> tuple[str, datetime]:
    """Check `webhook-id`, `webhook-timestamp` (±5 minutes of `now`) and `webhook-signature`.

    The signature header may carry several space-separated `v1,<base64>` signatures (a sender
    rotating its secret); one matching any secret is enough. Compared in constant time. Returns
    the message id and timestamp.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "").strip()
    timestamp_text = lowered.get("webhook-timestamp", "").strip()
    signature_header = lowered.get("webhook-signature", "").strip()
    missing = [
        name
        for name, value in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", timestamp_text),
            ("webhook-signature", signature_header),
        )
        if not value
    ]
    if missing:
        raise SignatureError(f"Missing header(s): {', '.join(missing)}.")
    if len(msg_id) > 255:
        raise SignatureError("webhook-id is longer than 255 characters.")
    if not timestamp_text.isdigit():
        raise SignatureError("webhook-timestamp must be whole seconds since the epoch.")
    timestamp = datetime.fromtimestamp(int(timestamp_text), tz=UTC)
    now = now or datetime.now(tz=UTC)
    if timestamp < now - TOLERANCE:
        raise SignatureError("webhook-timestamp is more than 5 minutes old.")
    if timestamp > now + TOLERANCE:
        raise SignatureError("webhook-timestamp is more than 5 minutes in the future.")
    offered = _signatures(signature_header)
    if not offered:
        raise SignatureError("webhook-signature has no v1 signature.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("The body is not UTF-8, so it cannot carry a valid signature.") from None
    for secret in secrets:
        expected = _decode(sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=text).partition(",")[2])
        # Every offered signature is compared, so timing does not reveal which one matched.
        matched = False
        for candidate in offered:
            matched |= hmac.compare_digest(expected, candidate)
        if matched:
            return msg_id, timestamp
    raise SignatureError("No signature matches.")


def sign(*, secret: str, msg_id: str, timestamp: datetime, body: str) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{msg_id}.{timestamp}.{body}` (senders and tests use it too)."""
    return Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)


def _signatures(header: str) -> list[bytes]:
    found = []
    for item in header.split():
        version, _, value = item.partition(",")
        if version == "v1" and value:
            decoded = _decode(value)
            if decoded:
                found.append(decoded)
    return found


def _decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""
