"""An httpx transport that can only reach one checked address, within one deadline.

Pinning happens at the socket layer: httpcore asks its network backend to connect to the URL's
host, and this backend connects to the address ``check_url`` approved instead, without resolving
anything. The URL itself is untouched, so the ``Host`` header, TLS SNI and certificate checks all
use the real host name, and a DNS answer that changes after the check (rebinding) is never seen.
"""

import functools
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from mono.kernel.outbound.errors import OutboundRequestFailed, OutboundTimeout
from mono.kernel.outbound.urls import CheckedURL


class Deadline:
    """A point in time by which the whole exchange must be over."""

    def __init__(self, seconds: float) -> None:
        """Start a deadline ``seconds`` from now."""
        self._seconds = seconds
        self._expires_at = time.monotonic() + seconds

    def cap(self, timeout: float | None, expired: type[Exception]) -> float:
        """Return ``timeout`` shortened to the time left, raising ``expired`` when none is left."""
        remaining = self._expires_at - time.monotonic()
        if remaining <= 0:
            raise expired("no time left")
        return remaining if timeout is None else min(timeout, remaining)

    def explain(self, exc: Exception) -> str:
        """Say which limit a timeout ``exc`` hit: this deadline, or one connect/read/write timeout."""
        if time.monotonic() >= self._expires_at:
            return f"the {self._seconds:g} s limit for the whole request was reached"
        return f"timed out ({type(exc).__name__})"


def pinned_client(
    target: CheckedURL, *, deadline: Deadline, timeout: httpx.Timeout, ssl_context: ssl.SSLContext | None
) -> httpx.Client:
    """Return a client whose every connection goes to ``target.address`` and ends by ``deadline``."""
    # Environment proxies and .netrc would send the request, or credentials, somewhere unchecked.
    return httpx.Client(
        transport=_PinnedTransport(target, deadline, ssl_context or _default_ssl_context()),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context is safe to share across threads.
    return httpx.create_ssl_context(trust_env=False)


@contextmanager
def _transport_errors(deadline: Deadline) -> Iterator[None]:
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise OutboundTimeout(deadline.explain(exc)) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise OutboundRequestFailed(f"{type(exc).__name__}: {exc}") from exc


class _PinnedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # Capping every read, not only the body loop, stops a server that drips headers a byte at a time.
        return self._inner.read(max_bytes, self._deadline.cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.cap(timeout, httpcore.ConnectTimeout)
        return _PinnedStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self, target: CheckedURL, deadline: Deadline) -> None:
        self._host = target.url.raw_host.decode("ascii")
        self._port = target.port
        self._address = str(target.address)
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._host, self._port):
            # Only the checked origin may be reached through this backend, whatever asks for another.
            raise httpcore.ConnectError(f"{host}:{port} is not the checked origin {self._host}:{self._port}")
        stream = self._inner.connect_tcp(
            self._address,
            port,
            timeout=self._deadline.cap(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _PinnedStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response, deadline: Deadline) -> None:
        self._response = response
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        with _transport_errors(self._deadline):
            yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class _PinnedTransport(httpx.BaseTransport):
    """What ``httpx.HTTPTransport`` does, over a connection pool that uses the pinning backend.

    Written against httpcore's public API because ``HTTPTransport`` has no public way to take a
    network backend.
    """

    def __init__(self, target: CheckedURL, deadline: Deadline, ssl_context: ssl.SSLContext) -> None:
        self._deadline = deadline
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PinnedBackend(target, deadline),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _transport_errors(self._deadline):
            core_response = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response, self._deadline),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
