"""Standard Webhooks verification: the spec's known answer, tolerance, several signatures."""

from datetime import UTC, datetime, timedelta

import pytest

from webhooks import signatures

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_NOW = datetime.fromtimestamp(VECTOR_TIMESTAMP, tz=UTC)


def vector_headers(signature: str = VECTOR_SIGNATURE) -> dict:
    return {"Webhook-Id": VECTOR_ID, "Webhook-Timestamp": str(VECTOR_TIMESTAMP), "Webhook-Signature": signature}


def test_signing_the_spec_example_gives_its_published_signature():
    assert (
        signatures.sign(secret=VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_NOW, body=VECTOR_BODY.decode())
        == VECTOR_SIGNATURE
    )


def test_spec_example_verifies_at_its_own_time():
    msg_id, timestamp = signatures.verify(
        secrets=[VECTOR_SECRET], headers=vector_headers(), body=VECTOR_BODY, now=VECTOR_NOW
    )
    assert (msg_id, timestamp) == (VECTOR_ID, VECTOR_NOW)


@pytest.mark.parametrize("offset", [timedelta(minutes=4, seconds=59), -timedelta(minutes=4, seconds=59)])
def test_spec_example_verifies_within_five_minutes_either_way(offset):
    signatures.verify(secrets=[VECTOR_SECRET], headers=vector_headers(), body=VECTOR_BODY, now=VECTOR_NOW + offset)


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(timedelta(minutes=5, seconds=1), "old"), (-timedelta(minutes=5, seconds=1), "future")],
)
def test_spec_example_is_refused_more_than_five_minutes_off(offset, reason):
    with pytest.raises(signatures.SignatureError, match=reason):
        signatures.verify(secrets=[VECTOR_SECRET], headers=vector_headers(), body=VECTOR_BODY, now=VECTOR_NOW + offset)


def test_one_matching_signature_among_several_is_enough():
    header = f"v1,Zm9vYmFy v2,whatever {VECTOR_SIGNATURE}"
    signatures.verify(secrets=[VECTOR_SECRET], headers=vector_headers(header), body=VECTOR_BODY, now=VECTOR_NOW)


def test_a_second_secret_verifies_what_the_first_does_not():
    other = "whsec_" + "A" * 43 + "="
    signatures.verify(secrets=[other, VECTOR_SECRET], headers=vector_headers(), body=VECTOR_BODY, now=VECTOR_NOW)
    with pytest.raises(signatures.SignatureError, match="No signature matches"):
        signatures.verify(secrets=[other], headers=vector_headers(), body=VECTOR_BODY, now=VECTOR_NOW)


def test_a_changed_body_no_longer_verifies():
    with pytest.raises(signatures.SignatureError, match="No signature matches"):
        signatures.verify(
            secrets=[VECTOR_SECRET], headers=vector_headers(), body=b'{"test": 2432232315}', now=VECTOR_NOW
        )
