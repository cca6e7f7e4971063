"""The API's request parsers (a module of their own: DRF imports them while it sets up its views)."""

import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, renderers
from rest_framework.utils import json


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


class JSONParser(parsers.BaseParser):
    """DRF's JSON parsing, bounded and limited to text PostgreSQL can store.

    - A body over `API_MAX_BODY_BYTES` answers 413 naming the limit, and is read no further than
      that. (It derives from `BaseParser`, not DRF's `JSONParser`: DRF reads the whole body into
      memory for its own JSON parser before parsing, and Django then answers an oversized body
      with a bare HTML 400.)
    - A string holding a NUL character or a lone UTF-16 surrogate (both only reachable through
      `\\u` escapes) answers 400: PostgreSQL's text and jsonb types cannot hold them, and
      letting one through would fail later, as a 500 or a run that cannot be saved.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes (API_MAX_BODY_BYTES).")
        if not body:
            raise exceptions.ParseError("JSON parse error - the body is empty.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(body.decode(encoding), parse_constant=json.strict_constant)
        except ValueError as exc:  # includes a body that is not valid text in its encoding
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if _UNSTORABLE_ESCAPE.search(body) and (where := _unstorable_text(data)) is not None:
            raise exceptions.ParseError(f"JSON parse error - {where} holds a NUL character or a lone surrogate.")
        return data


_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _unstorable_text(value: Any, path: str = "the body") -> str | None:
    """Where in `value` a string PostgreSQL cannot store sits (a dotted path), or None."""
    if isinstance(value, str):
        return path if not _storable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if not _storable(key):
                return f"a key in {path}"
            if (found := _unstorable_text(item, f"{path}.{key}" if path != "the body" else key)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _unstorable_text(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
