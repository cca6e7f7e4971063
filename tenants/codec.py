"""The codec server the Temporal UI (and `temporal` CLI) call to show encrypted payloads in plain text.

`POST /temporal-codec/decode` and `/encode` speak Temporal's remote codec protocol: a JSON body
`{"payloads": [<Payload as proto JSON>, ...]}` and the namespace in `X-Namespace`. Callers
authenticate with the session cookie or `Authorization: Bearer <API key>` (what the UI's "pass
access token" option forwards). A tenant namespace is decoded for its members with the view
permission (encoding, which makes input a worker would accept, needs execute); the platform
namespace for staff only. Another namespace gets 403, a missing or bad credential 401, and then
nothing is decoded. Every decode is audited: who, which namespace, how many payloads.

The browser calls this cross-origin from the UI, so CORS (preflight included) is answered for the
origins in `TEMPORAL_CODEC_CORS_ORIGINS`; a cookie-authenticated call from any other origin is refused.
"""

import logging

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from google.protobuf import json_format
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView
from temporalio.api.common.v1 import Payload

from mono import events
from mono.temporal import sync
from mono.temporal.client import namespace_tenant_id, platform_namespace
from mono.temporal.codec import data_converter_for
from tenants.authentication import ApiKeyAuthentication
from tenants.models import ApiKey, Membership
from tenants.permissions import Permission, role_allows

logger = logging.getLogger(__name__)
NAMESPACE_HEADER = "X-Namespace"
MAX_PAYLOADS = 1000
DECODED = "payloads.decoded"
ALLOWED_HEADERS = "authorization, content-type, x-namespace, caller-type, client-name, client-version"


def _allowed_origin(request) -> str | None:
    origin = request.headers.get("Origin")
    return origin if origin and origin in settings.TEMPORAL_CODEC_CORS_ORIGINS else None


class _UiOriginSession(SessionAuthentication):
    """The session cookie, from this site or the Temporal UI's origin only (the UI cannot send a CSRF token)."""

    def enforce_csrf(self, request):
        origin = request.headers.get("Origin")
        if origin and not _allowed_origin(request) and origin != f"{request.scheme}://{request.get_host()}":
            raise exceptions.PermissionDenied(f"Origin {origin!r} may not call the codec with a session cookie.")


@extend_schema(exclude=True)  # Temporal's codec protocol, not part of Mono's API
class _CodecView(APIView):
    authentication_classes = [ApiKeyAuthentication, _UiOriginSession]
    permission_classes: list = []
    needs = Permission.VIEW

    def options(self, request, *args, **kwargs):
        """CORS preflight: answered before, and without, authentication."""
        return Response(status=204)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = _allowed_origin(request)
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"
            response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response

    def post(self, request):
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        namespace = request.headers.get(NAMESPACE_HEADER, "").strip()
        if not namespace:
            raise exceptions.ValidationError({NAMESPACE_HEADER: ["This header is required."]})
        tenant_id = self._authorize(request, namespace)
        payloads = _parse(request.data)
        results = sync.run(lambda: self.transform(namespace, payloads))
        self.audit(request, namespace, tenant_id, payloads)
        return Response({"payloads": [json_format.MessageToDict(p) for p in results]})

    def _authorize(self, request, namespace: str) -> int | None:
        """The namespace's tenant id (None for the platform), or raise 403."""
        denied = exceptions.PermissionDenied(f"You may not {self.verb} payloads of namespace {namespace!r}.")
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        if namespace == platform_namespace():
            if api_key is not None or not request.user.is_staff:
                raise denied
            return None
        tenant_id = namespace_tenant_id(namespace)
        if tenant_id is None or (api_key is not None and api_key.tenant_id != tenant_id):
            raise denied
        members = Membership.objects.for_tenant(tenant_id).filter(user=request.user, tenant__is_active=True)
        membership = members.only("role").first()
        if membership is None or not role_allows(membership.role, self.needs):
            raise denied
        return tenant_id

    async def transform(self, namespace: str, payloads: list[Payload]) -> list[Payload]:
        raise NotImplementedError

    def audit(self, request, namespace: str, tenant_id: int | None, payloads: list[Payload]) -> None:
        pass


def _parse(data) -> list[Payload]:
    items = data.get("payloads") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise exceptions.ValidationError({"payloads": ["Expected a list of payloads."]})
    if len(items) > MAX_PAYLOADS:
        raise exceptions.ValidationError({"payloads": [f"At most {MAX_PAYLOADS} payloads per call."]})
    try:
        return [json_format.ParseDict(item, Payload()) for item in items]
    except (json_format.ParseError, TypeError, AttributeError) as exc:
        raise exceptions.ValidationError({"payloads": [f"Not a Temporal payload: {exc}"]}) from exc


class DecodeView(_CodecView):
    verb = "decode"

    async def transform(self, namespace: str, payloads: list[Payload]) -> list[Payload]:
        codec = data_converter_for(namespace).payload_codec
        decoded = []
        for payload in payloads:
            try:
                decoded.extend(await codec.decode([payload]))
            except ValueError:  # another namespace's ciphertext, an unknown key, or altered bytes
                decoded.append(payload)
        return decoded

    def audit(self, request, namespace: str, tenant_id: int | None, payloads: list[Payload]) -> None:
        actor = request.auth if isinstance(request.auth, ApiKey) else request.user
        data = {"namespace": namespace, "payloads": len(payloads)}
        if tenant_id is None:  # platform: no tenant log to write to; the operators' log keeps it
            logger.info("audit %s by %s: %s", DECODED, request.user.get_username(), data)
            return
        events.audit(tenant=tenant_id, action=DECODED, target=("temporal.namespace", namespace), actor=actor, data=data)


class EncodeView(_CodecView):
    verb = "encode"
    needs = Permission.EXECUTE  # ciphertext made here is input a worker would accept

    async def transform(self, namespace: str, payloads: list[Payload]) -> list[Payload]:
        return await data_converter_for(namespace).payload_codec.encode(payloads)


urlpatterns = [
    path("decode", DecodeView.as_view(), name="temporal-codec-decode"),
    path("encode", EncodeView.as_view(), name="temporal-codec-encode"),
]
