"""A local fake of the OpenAI, Anthropic and Mistral HTTP APIs, so the official SDKs run unmodified in tests.

Each provider answers under its own path prefix (`/openai/v1/...`, `/anthropic/v1/...`, `/mistral/v1/...`;
any other prefix speaks OpenAI's dialect, for OpenAI-compatible servers). By default a request is answered
with an echo of its last user message; `script()` queues other outcomes per provider:

    with FakeLLMServer() as server:
        server.script("openai", [Error(429, retry_after=2), Reply("hi")])
        ...
        assert server.hits("openai") == 2

Token counts are word counts, so tests can predict them.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class Reply:
    """Answer normally; `text=None` echoes the last user message, `finish_reason=None` is the provider's "done".

    `tool_calls` (`(name, arguments)` pairs) makes the answer ask for those tools in the provider's
    native format (OpenAI/Mistral `tool_calls`, Anthropic `tool_use` blocks); the text is then empty
    unless given.
    """

    text: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class Error:
    """Answer with the provider's real error body; `mid_stream` fails a streaming request after one delta."""

    status: int
    message: str = "scripted failure"
    code: str | None = None
    type: str | None = None
    retry_after: float | str | None = None
    mid_stream: bool = False


@dataclass(frozen=True)
class Delay:
    """Wait before answering (with `then`, or the default echo), to trip client timeouts."""

    seconds: float
    then: Reply | Error | None = None


Outcome = Reply | Error | Delay


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; `request_id` is the id the fake sent back."""

    provider: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    request_id: str


MEDIA_PATHS = ("/v1/images/generations", "/v1/audio/transcriptions")
# Every transcription is this long, so tests can predict its cost.
TRANSCRIPTION_SECONDS = 90.0
# A 1x1 PNG: what every generated image is.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart form's text fields, and each file as `{name: {"filename", "size", "content_type"}}`."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"content-type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            kind = part.get_content_type()
            fields[name] = {"filename": part.get_filename(), "size": len(payload), "content_type": kind}
        else:
            fields[name] = payload.decode()
    return fields


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_OPENAI_ERROR_TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}


class FakeLLMServer:
    """A threaded HTTP server on 127.0.0.1 speaking each provider's wire format; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Outcome]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        # A short poll keeps shutdown quick; the default half second would dominate every test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-llm", daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()  # wakes handlers inside a Delay
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        """The server root, `http://127.0.0.1:PORT`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        """The `base_url` for `openai.OpenAI` (it includes `/v1`)."""
        return self.compatible_url("openai")

    @property
    def anthropic_url(self) -> str:
        """The `base_url` for `anthropic.Anthropic` (the SDK adds `/v1`)."""
        return f"{self.base_url}/anthropic"

    @property
    def mistral_url(self) -> str:
        """The `server_url` for `Mistral` (the SDK adds `/v1`)."""
        return f"{self.base_url}/mistral"

    def compatible_url(self, name: str) -> str:
        """An OpenAI-compatible `base_url` whose requests are recorded and scripted under `name`."""
        return f"{self.base_url}/{name}/v1"

    def script(self, provider: str, outcomes: Iterable[Outcome]) -> None:
        """Queue outcomes for the next requests to `provider`; once used up, requests get the echo reply."""
        with self._lock:
            self._scripts[provider].extend(outcomes)

    def hits(self, provider: str) -> int:
        """How many requests `provider` has received."""
        with self._lock:
            return sum(1 for request in self.requests if request.provider == provider)

    def last(self, provider: str) -> RecordedRequest:
        """The latest request `provider` received."""
        with self._lock:
            return next(request for request in reversed(self.requests) if request.provider == provider)

    def record(self, provider: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> RecordedRequest:
        """Store a request and give it a response id; called by the handler."""
        with self._lock:
            recorded = RecordedRequest(provider, path, headers, body, f"req_{provider}_{next(self._ids):04d}")
            self.requests.append(recorded)
            return recorded

    def next_outcome(self, provider: str) -> Outcome:
        """Pop the next scripted outcome for `provider`, or the default echo reply."""
        with self._lock:
            script = self._scripts[provider]
            return script.popleft() if script else Reply()


class _Server(ThreadingHTTPServer):
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up (a timed-out request, a pooled connection closed); report the rest."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; without this a kept-alive client waits ~40 ms
    # for a delayed ACK (Nagle) before the body arrives.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive and chunked SSE, as the real APIs do

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the recorded requests are the log."""

    def do_POST(self) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        provider = path.strip("/").split("/", 1)[0]
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        multipart = headers.get("content-type", "").startswith("multipart/")
        body = _multipart_fields(headers["content-type"], raw) if multipart else json.loads(raw or b"{}")
        request = fake.record(provider, path, headers, body)
        dialect = "anthropic" if path.endswith("/v1/messages") else "mistral" if provider == "mistral" else "openai"
        if not path.endswith(("/v1/messages", "/v1/chat/completions", *MEDIA_PATHS)):
            self._json(404, _openai_error(Error(404, "no such route", code="not_found")), request)
            return
        outcome = fake.next_outcome(provider)
        if path.endswith(MEDIA_PATHS):
            self._media(path, outcome, request)
            return
        if isinstance(outcome, Delay):
            if fake.stopping.wait(outcome.seconds):
                self.close_connection = True  # shutting down: leave the request unanswered
                return
            outcome = outcome.then or Reply()
        if isinstance(outcome, Error) and not (outcome.mid_stream and body.get("stream")):
            self._error(dialect, outcome, request)
        elif body.get("stream"):
            self._stream(dialect, outcome, request)
        else:
            self._json(200, _completion(dialect, outcome, request), request)

    def _media(self, path: str, outcome: Outcome, request: RecordedRequest) -> None:
        """OpenAI's images (base64 PNGs) and transcriptions (json or verbose_json) endpoints."""
        if isinstance(outcome, Delay):
            outcome = outcome.then or Reply()
        if isinstance(outcome, Error):
            self._error("openai", outcome, request)
            return
        body = request.body
        if path.endswith("/images/generations"):
            image = {"b64_json": base64.b64encode(TINY_PNG).decode(), "revised_prompt": f"revised: {body['prompt']}"}
            self._json(200, {"created": int(time.time()), "data": [image] * int(body.get("n", 1))}, request)
            return
        text = outcome.text if outcome.text is not None else "hello from the fake transcriber"
        answer: dict[str, Any] = {"text": text}
        if body.get("response_format") == "verbose_json":
            answer |= {"task": "transcribe", "language": body.get("language") or "english"}
            answer |= {"duration": TRANSCRIPTION_SECONDS, "segments": []}
        else:
            answer["usage"] = {"type": "duration", "seconds": TRANSCRIPTION_SECONDS}
        self._json(200, answer, request)

    def _error(self, dialect: str, error: Error, request: RecordedRequest) -> None:
        extra = {"retry-after": str(error.retry_after)} if error.retry_after is not None else {}
        if dialect == "anthropic":
            body = {"type": "error", "error": _anthropic_error(error), "request_id": request.request_id}
        elif dialect == "mistral":
            body = _mistral_error(error)
        else:
            body = _openai_error(error)
        self._json(error.status, body, request, extra)

    def _json(self, status: int, body: object, request: RecordedRequest, extra: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self._send_request_id(request)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, dialect: str, outcome: Reply | Error, request: RecordedRequest) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self._send_request_id(request)
        self.end_headers()
        for event in _sse_events(dialect, outcome, request):
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _send_request_id(self, request: RecordedRequest) -> None:
        self.send_header("request-id" if request.path.endswith("/v1/messages") else "x-request-id", request.request_id)


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: object) -> str:
    # Message content is a string or a list of typed blocks.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(block.get("text", "") for block in content if isinstance(block, dict))
    return ""


def _reply_text(reply: Reply, body: dict[str, Any]) -> str:
    if reply.text is not None:
        return reply.text
    if reply.tool_calls:
        return ""
    users = [message for message in body.get("messages", []) if message.get("role") == "user"]
    return _text_of(users[-1]["content"]) if users else ""


def _input_words(body: dict[str, Any]) -> int:
    texts = [_text_of(message.get("content")) for message in body.get("messages", [])]
    return sum(_words(text) for text in [*texts, _text_of(body.get("system"))])


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word if index == 0 else f" {word}" for index, word in enumerate(words)] if text else []


def _call_ids(reply: Reply, request: RecordedRequest) -> list[str]:
    # Unique per request and call, like the providers' own ids.
    return [f"call_{request.request_id}_{index}" for index in range(len(reply.tool_calls))]


def _openai_tool_calls(reply: Reply, request: RecordedRequest) -> list[dict[str, Any]]:
    return [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        for call_id, (name, arguments) in zip(_call_ids(reply, request), reply.tool_calls, strict=True)
    ]


def _completion(dialect: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
    body, text = request.body, _reply_text(reply, request.body)
    usage_in, usage_out = _input_words(body), _words(text) + len(reply.tool_calls)
    if dialect == "anthropic":
        blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text or not reply.tool_calls else []
        blocks += [
            {"type": "tool_use", "id": call_id, "name": name, "input": arguments}
            for call_id, (name, arguments) in zip(_call_ids(reply, request), reply.tool_calls, strict=True)
        ]
        return {
            "id": f"msg_{request.request_id}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": blocks,
            "stop_reason": reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn"),
            "stop_sequence": None,
            "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
        }
    return {
        "id": f"cmpl_{request.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text if text or not reply.tool_calls else None,
                    **({"tool_calls": _openai_tool_calls(reply, request)} if reply.tool_calls else {}),
                },
                "finish_reason": reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"),
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out},
    }


def _sse_events(dialect: str, outcome: Reply | Error, request: RecordedRequest) -> list[str]:
    if dialect == "anthropic":
        return _anthropic_events(outcome, request)
    body = request.body
    reply = outcome if isinstance(outcome, Reply) else Reply()
    text = _reply_text(reply, body)
    usage_in, usage_out = _input_words(body), _words(text)
    usage = {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}
    head = {"id": f"cmpl_{request.request_id}", "object": "chat.completion.chunk", "created": int(time.time())}
    head["model"] = body.get("model")

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return "data: " + json.dumps({**head, "choices": [choice], **extra}) + "\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    if isinstance(outcome, Error):
        events.append(chunk({"content": "partial"}))
        error = _mistral_error(outcome) if dialect == "mistral" else _openai_error(outcome)
        return [*events, "data: " + json.dumps(error) + "\n\n"]
    events += [chunk({"content": piece}) for piece in _pieces(text)]
    for index, call in enumerate(_openai_tool_calls(reply, request)):
        # As OpenAI streams them: id and name first, then the arguments in fragments.
        head_piece = {"index": index, "id": call["id"], "type": "function"}
        events.append(chunk({"tool_calls": [{**head_piece, "function": {"name": call["function"]["name"]}}]}))
        text_args = call["function"]["arguments"]
        for start in range(0, len(text_args), 7):
            fragment = {"index": index, "function": {"arguments": text_args[start : start + 7]}}
            events.append(chunk({"tool_calls": [fragment]}))
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    if dialect == "mistral":
        # Mistral puts the usage on the chunk that carries the finish reason.
        events.append(chunk({"content": ""}, finish, usage=usage))
    else:
        events.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append("data: " + json.dumps({**head, "choices": [], "usage": usage}) + "\n\n")
    return [*events, "data: [DONE]\n\n"]


def _anthropic_events(outcome: Reply | Error, request: RecordedRequest) -> list[str]:
    body = request.body
    reply = outcome if isinstance(outcome, Reply) else Reply()
    text = _reply_text(reply, body)

    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    message = {
        "id": f"msg_{request.request_id}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": _input_words(body), "output_tokens": 1},
    }
    events = [
        event("message_start", {"message": message}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
    ]
    if isinstance(outcome, Error):
        delta = {"index": 0, "delta": {"type": "text_delta", "text": "partial"}}
        return [*events, event("content_block_delta", delta), event("error", {"error": _anthropic_error(outcome)})]
    events += [
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        for piece in _pieces(text)
    ]
    stop = {"stop_reason": reply.finish_reason or "end_turn", "stop_sequence": None}
    return [
        *events,
        event("content_block_stop", {"index": 0}),
        event("message_delta", {"delta": stop, "usage": {"output_tokens": _words(text)}}),
        event("message_stop", {}),
    ]


def _openai_error(error: Error) -> dict[str, Any]:
    kind = error.type or _OPENAI_ERROR_TYPES.get(error.status)
    kind = kind or ("server_error" if error.status >= 500 else "invalid_request_error")
    return {"error": {"message": error.message, "type": kind, "param": None, "code": error.code}}


def _anthropic_error(error: Error) -> dict[str, Any]:
    kind = error.type or _ANTHROPIC_ERROR_TYPES.get(error.status, "api_error")
    details = {"details": {"error_code": error.code}} if error.code else {}
    return {"type": kind, "message": error.message, **details}


def _mistral_error(error: Error) -> dict[str, Any]:
    kind = error.type or ("internal_server_error" if error.status >= 500 else "invalid_request_error")
    return {"object": "error", "message": error.message, "type": kind, "param": None, "code": error.code}
