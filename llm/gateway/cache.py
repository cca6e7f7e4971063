"""The per-tenant response cache: an identical call within its TTL is answered from PostgreSQL,
costs nothing, and is still recorded as a `cached` usage row."""

import hashlib
import json
from dataclasses import asdict
from datetime import timedelta

from django.utils import timezone

from llm.gateway.calls import Call, Result
from llm.gateway.usage import usage_record
from llm.models import CachedResponse, UsageStatus
from llm.providers.base import ToolCall
from llm.route_parsing import Candidate


def _cache_key(call: Call) -> str:
    normalised = {
        "candidates": [str(c) for c in call.candidates],
        "messages": [[m.role, m.content, [asdict(c) for c in m.tool_calls], m.tool_call_id] for m in call.messages],
        "tools": [asdict(t) for t in call.tools],
        "temperature": call.temperature,
        "max_tokens": call.max_tokens,
        "json": call.json_output,
    }
    return hashlib.sha256(json.dumps(normalised, sort_keys=True).encode()).hexdigest()


def cached_result(call: Call) -> Result | None:
    """The stored answer to `call`, if it asks for caching and one has not expired."""
    if not call.cache_ttl_seconds:
        return None
    entry = (
        CachedResponse.objects.for_tenant(call.tenant_id)
        .filter(key=_cache_key(call), expires_at__gt=timezone.now())
        .first()
    )
    if entry is None:
        return None
    stored = entry.response
    calls = [ToolCall(**c) for c in stored.get("tool_calls") or ()]
    result = Result(**{**stored, "cached": True, "cost": "0", "attempts": [], "tool_calls": calls})
    usage_record(
        call,
        Candidate(stored["provider"], stored["model"]),
        status=UsageStatus.CACHED,
        input_tokens=0,
        output_tokens=0,
        request_id=stored["request_id"],
    )
    return result


def result_store(call: Call, result: Result) -> None:
    """Keep `result` for the call's TTL, if it asks for caching."""
    if not call.cache_ttl_seconds:
        return
    stored = {k: v for k, v in result.as_dict().items() if k != "attempts"}
    CachedResponse.objects.update_or_create(
        tenant_id=call.tenant_id,
        key=_cache_key(call),
        defaults={"response": stored, "expires_at": timezone.now() + timedelta(seconds=call.cache_ttl_seconds)},
    )
