"""Who may read `/metrics`: the web process's and the worker health port's alike.

Metrics name tenants, workflows and costs, so they are not public. With `METRICS_TOKEN` set, a
scrape must send `Authorization: Bearer <METRICS_TOKEN>`; without one configured, only callers on
the loopback interface are answered (a Prometheus on the same host, or `curl` on the box). The
check is Django-free so the worker's standard-library server and the Django view share it.
"""

import ipaddress
import secrets

OK = 200
UNAUTHENTICATED = 401  # no bearer token sent where one is needed
FORBIDDEN = 403  # a wrong token, or a remote caller while no token is configured


def metrics_access(*, authorization: str | None, remote_addr: str | None, token: str) -> tuple[int, str]:
    """(HTTP status, reason) for a scrape: 200 with an empty reason when it may read the metrics."""
    if token:
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return UNAUTHENTICATED, "Metrics need Authorization: Bearer <METRICS_TOKEN>."
        if not secrets.compare_digest(presented.strip().encode(), token.encode()):
            return FORBIDDEN, "Wrong metrics token."
        return OK, ""
    if is_loopback(remote_addr):
        return OK, ""
    return FORBIDDEN, "Metrics answer only to loopback callers while METRICS_TOKEN is not set."


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything unparsable."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def unauthorized_headers(status: int) -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == UNAUTHENTICATED else {}
