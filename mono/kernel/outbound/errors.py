"""Errors raised by the outbound client, split by whether a retry could help."""


class OutboundError(Exception):
    """Base class for every outbound-call failure; ``reason`` says what happened in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboundRequestRefused(OutboundError):
    """The request breaks the outbound policy (forbidden address, scheme, redirect, ...); retrying cannot help."""


class ResponseTooLarge(OutboundRequestRefused):
    """The response body is larger than the policy's ``max_response_bytes``."""


class OutboundRequestFailed(OutboundError):
    """The request was allowed but did not complete (DNS, connection, TLS, protocol); a retry may succeed."""


class OutboundTimeout(OutboundRequestFailed):
    """A connect, read or write timeout, or the whole exchange ran past the policy's total deadline."""
