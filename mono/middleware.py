"""Request middleware: every request gets an id that logs and the audit log can quote.

The id of the request being served is kept in a context variable, so code several calls away
from the view (a service writing an audit event) can read it without being handed the request.
Outside a request (Temporal workers, management commands, shells) there is none: `""`.
"""

import re
import uuid
from contextvars import ContextVar, Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

REQUEST_ID_HEADER = "X-Request-ID"

# A caller's (or proxy's) id is kept only if it is a short token of characters that cannot
# smuggle anything into log lines or response headers: no spaces, quotes or line breaks.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: ContextVar[str] = ContextVar("mono_request_id", default="")
_request: ContextVar[HttpRequest | None] = ContextVar("mono_request", default=None)


def current_request_id() -> str:
    """The id of the request being served, or `""` outside a request."""
    return _request_id.get()


def current_request_auth() -> Any:
    """What DRF authenticated the current request with (an `ApiKey`, ...), or None.

    DRF authenticates inside the view, after this middleware ran, and records the result on the
    underlying Django request; so it is read here when asked, not when the request arrived.
    """
    request = _request.get()
    return getattr(request, "auth", None) if request is not None else None


def request_id_for(request: HttpRequest) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a new random id."""
    offered = request.headers.get(REQUEST_ID_HEADER, "").strip()
    return offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id (`request.request_id`, `current_request_id()`) and echo it in
    the response's `X-Request-ID` header, so a client can quote it in a support ticket."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        request_id, tokens = _enter(request)
        try:
            response = self.get_response(request)
        finally:
            _leave(tokens)
        response[REQUEST_ID_HEADER] = request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request_id, tokens = _enter(request)
        try:
            response = await self.get_response(request)
        finally:
            _leave(tokens)
        response[REQUEST_ID_HEADER] = request_id
        return response


# One middleware instance serves every request, so the context tokens stay on the call's own
# stack; resetting (rather than clearing) them restores whatever an outer caller had set.
_Tokens = tuple[Token[str], Token[HttpRequest | None]]


def _enter(request: HttpRequest) -> tuple[str, _Tokens]:
    request_id = request_id_for(request)
    request.request_id = request_id
    return request_id, (_request_id.set(request_id), _request.set(request))


def _leave(tokens: _Tokens) -> None:
    id_token, request_token = tokens
    _request.reset(request_token)
    _request_id.reset(id_token)
