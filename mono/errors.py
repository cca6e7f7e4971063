"""Errors services raise for the API to answer with the right status.

Services stay free of DRF; `mono.api.exception_handler` turns these into responses.
`detail` is what the client sees: a message, or a dict naming the fields at fault.
"""


class ServiceError(Exception):
    status_code = 400

    def __init__(self, detail: str | dict | list, *, headers: dict[str, str] | None = None):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        self.headers = headers or {}

    @property
    def message(self) -> str:
        """`detail` as one line for logs, commands and stored errors (`field: problem; ...`)."""
        if isinstance(self.detail, dict):
            return "; ".join(f"{key}: {value}" for key, value in self.detail.items())
        return str(self.detail)


class PermissionDenied(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class Unavailable(ServiceError):
    status_code = 503


class RetryLater(Exception):
    """A temporary refusal: try again after `retry_after` seconds. The API answers 429 with
    `Retry-After`.

    Deliberately not a `ServiceError`: callers that take a `ServiceError` as final (a webhook
    event's durable start fails the event for good) treat this one as a failed attempt and retry
    it with their backoff, and a Temporal activity raising it is retried by its retry policy.
    """

    status_code = 429

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
