"""Temporal made unreachable for a while, the way a real outage looks to the services."""

import contextlib

from mono.temporal.client import forget_connections


@contextlib.contextmanager
def temporal_unreachable(settings):
    """Point every new Temporal client at a closed port (1 s connect timeout), then restore."""
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_CONNECT_TIMEOUT_SECONDS = 1
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    forget_connections()
    try:
        yield
    finally:
        settings.TEMPORAL_ADDRESS = address
        forget_connections()
