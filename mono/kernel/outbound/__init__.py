"""SSRF-safe outbound HTTP for webhooks and the workflow engine's WebhookNode.

Synchronous, for Temporal activity threads. ``send`` refuses anything the policy forbids before a
byte leaves the machine:

- only http and https; no credentials in the URL; no host spelling that parsers read differently
  (``2130706433``, ``0x7f.1``, ``127.1``, a trailing dot, backslashes), IDN hosts compared in
  their ASCII form;
- every address the host resolves to must be publicly routable (see ``addresses``), IPv6 forms
  embedding IPv4 (mapped, NAT64, 6to4, Teredo) judged by the IPv4 address inside;
- the connection goes to the address that was checked, with no second DNS lookup, while the
  ``Host`` header, TLS SNI and certificate check keep the real name (see ``transport``);
- redirects are followed up to ``max_redirects``, each hop checked and pinned afresh; a redirect
  from https to http is refused, credentials stay with their origin, and 301/302 after POST and 303
  become a GET without the body and its signature;
- one deadline covers the whole exchange, each read included, and the body is read only up to
  ``max_response_bytes``.

``allowed_hosts`` in the policy lifts the address check for development and tests.
"""

from mono.kernel.outbound.client import OutboundResponse, send
from mono.kernel.outbound.errors import (
    OutboundError,
    OutboundRequestFailed,
    OutboundRequestRefused,
    OutboundTimeout,
    ResponseTooLarge,
)
from mono.kernel.outbound.policy import OutboundPolicy
from mono.kernel.outbound.signing import signature_headers
from mono.kernel.outbound.urls import CheckedURL, Resolver, check_url

__all__ = [
    "CheckedURL",
    "OutboundError",
    "OutboundPolicy",
    "OutboundRequestFailed",
    "OutboundRequestRefused",
    "OutboundResponse",
    "OutboundTimeout",
    "Resolver",
    "ResponseTooLarge",
    "check_url",
    "send",
    "signature_headers",
]
