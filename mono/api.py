"""API-wide DRF glue."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import exception_handler as drf_exception_handler

from mono.errors import RetryLater, ServiceError


def exception_handler(exc, context):
    """DRF's handler, plus: a Django `ValidationError` from a service becomes a 400 whose body
    names the offending fields, like a serializer error; a `ServiceError` keeps its status; a
    `RetryLater` is a 429 with `Retry-After`."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ServiceError):
        # Answered as given: structured details (e.g. graph errors with null node ids) stay JSON.
        detail = {"detail": exc.detail} if isinstance(exc.detail, str) else exc.detail
        return Response(detail, status=exc.status_code, headers=exc.headers)
    elif isinstance(exc, RetryLater):
        return Response({"detail": exc.detail}, status=exc.status_code, headers={"Retry-After": str(exc.retry_after)})
    return drf_exception_handler(exc, context)


class OptionalSlashRouter(SimpleRouter):
    """API paths are written without a trailing slash (`/api/v1/members/3`); one is tolerated.

    Ids in paths are integers unless a viewset says otherwise (`lookup_value_regex`): a path
    whose id is not a number matches no route and answers 404, exactly like a missing object,
    instead of reaching the database with a value it cannot compare.
    """

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        value = getattr(viewset, "lookup_value_regex", "[0-9]+")
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{value})"


def schema_generation(view) -> bool:
    """True while drf-spectacular inspects a view: there is no tenant on its fake request."""
    return getattr(view, "swagger_fake_view", False)


def validated(serializer_class, data, **kwargs) -> dict:
    """The input serializer's validated data, or the 400 naming every bad field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` is capped: a caller cannot ask one page to hold the whole table."""

    max_limit = 200


class RunsCursorPagination(pagination.CursorPagination):
    """Newest first by creation; a position that stays right while new rows arrive."""

    ordering = ("-created_at", "-pk")
    page_size_query_param = "limit"
    max_page_size = 200


class LimitOffsetOrCursorPagination(LimitOffsetPagination):
    """Limit/offset as every list answers, or, when the request carries `?cursor=` (empty for the
    first page), cursor pages (`next`/`previous` links, no `count`): stable while rows are added,
    and cheap deep into a long list. Existing clients that never send `cursor` see no change."""

    def _cursor(self, request) -> bool:
        return "cursor" in request.query_params

    def paginate_queryset(self, queryset, request, view=None):
        if self._cursor(request):
            self._delegate = RunsCursorPagination()
            self._delegate.page_size = self.default_limit or 50
            return self._delegate.paginate_queryset(queryset, request, view)
        self._delegate = None
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self._delegate is not None:
            return self._delegate.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_schema_operation_parameters(self, view):
        cursor = {
            "name": "cursor",
            "required": False,
            "in": "query",
            "description": "Cursor pages instead of limit/offset: empty for the first page, then `next`/`previous`.",
            "schema": {"type": "string"},
        }
        return [*super().get_schema_operation_parameters(view), cursor]
