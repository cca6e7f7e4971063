"""Signed approval links, sent by e-mail: one approver, one approval, one decision.

A link is a `django.core.signing` token (salted for this purpose alone) naming the tenant, the
approval, the user and the decision. It is:
- *single-use*: it works only while the approval is pending and its user has not voted; the vote
  it records is what uses it up, so no extra state is kept;
- *limited in time*: for `APPROVAL_LINK_TTL_SECONDS` it decides without a login (the e-mail is the
  proof of identity); past that it still names the decision, but the approver must sign in as the
  user it was sent to first. A link forwarded or leaked late is therefore useless without that
  person's password;
- *confirmed*: opening it (GET) only shows what would be decided; the decision is a POST from that
  page, so mail scanners that prefetch links decide nothing.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "console.approval-link"
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class LinkClaim:
    """What a valid signature vouches for, and whether the link is past its TTL."""

    tenant_id: int
    approval_id: int
    user_id: int
    decision: str
    expired: bool


def approval_link_url(*, tenant_id: int, approval_id: int, user_id: int, decision: str) -> str:
    """The absolute URL of a link deciding `decision` on the approval, for that user only."""
    token = signing.dumps({"t": tenant_id, "a": approval_id, "u": user_id, "d": decision}, salt=SALT, compress=True)
    return settings.CONSOLE_BASE_URL.rstrip("/") + reverse("console:approval-link", kwargs={"token": token})


def approval_link_read(*, token: str) -> LinkClaim | None:
    """The link's claim, or None for a forged, altered or malformed token."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.APPROVAL_LINK_TTL_SECONDS)
        expired = False
    except signing.SignatureExpired:
        payload = signing.loads(token, salt=SALT)  # the signature is good; only its age is past the TTL
        expired = True
    except signing.BadSignature:
        return None
    try:
        claim = LinkClaim(int(payload["t"]), int(payload["a"]), int(payload["u"]), str(payload["d"]), expired)
    except (KeyError, TypeError, ValueError):
        return None
    return claim if claim.decision in DECISIONS else None
