"""Standard Webhooks signatures for outgoing bodies."""

from datetime import UTC, datetime

from standardwebhooks import Webhook

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def signature_headers(*, secret: str, message_id: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    """Return the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers for ``body``.

    ``secret`` is the tenant's ``whsec_...`` key. ``message_id`` should stay the same across
    retries of one delivery so receivers can drop duplicates; ``at`` defaults to now.
    """
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("Standard Webhooks signs text: the body must be UTF-8") from exc
    timestamp = int((at or datetime.now(UTC)).timestamp())
    # The library reads the datetime's wall clock as UTC, so it must be given a UTC one.
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), payload)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
