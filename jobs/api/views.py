"""Background-job API: media uploads and their variants, e-mail sends and campaigns."""

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors
from jobs.api.serializers import (
    CampaignCreateSerializer,
    CampaignDetailSerializer,
    CampaignSerializer,
    EmailSendSerializer,
    MediaAssetSerializer,
    MediaUploadSerializer,
)
from jobs.models import EmailCampaign, MediaAsset, MediaStatus
from jobs.services import email, media
from mono.api import schema_generation, validated
from mono.errors import ServiceError
from mono.parsers import JSONParser
from tenants.permissions import Permission


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class MediaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Uploaded files: the type is detected from the bytes; images get variants in the background."""

    serializer_class = MediaAssetSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        if schema_generation(self):
            return MediaAsset.objects.none()
        params = self.request.query_params
        return selectors.media_list(
            tenant=self.request.tenant, kind=params.get("kind"), status=params.get("status"), q=params.get("q")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str),
            OpenApiParameter("status", str),
            OpenApiParameter("q", str, description="Words in the file name or the document's extracted text."),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": MediaUploadSerializer}, responses={202: MediaAssetSerializer})
    def create(self, request):
        # Refuse by the declared length before the body is read and spooled to disk.
        media.check_upload_size(_content_length(request))
        data = validated(MediaUploadSerializer, request.data)
        asset = media.media_upload(
            tenant=request.tenant, upload=data["file"], variants=data.get("variants"), actor=request.user
        )
        # 202 while the asset is still to be processed; other files are ready at once.
        code = status.HTTP_202_ACCEPTED if asset.status == MediaStatus.PENDING else status.HTTP_201_CREATED
        asset = selectors.media_get(tenant=request.tenant, asset_id=asset.pk)
        return Response(MediaAssetSerializer(asset).data, status=code)

    def destroy(self, request, pk=None):
        media.media_delete(asset=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The original file, or `?variant=<name>`."""
        asset = self.get_object()
        stored = asset.file
        if name := request.query_params.get("variant"):
            stored = get_object_or_404(asset.variants.all(), name=name).file
        try:
            handle = stored.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing from storage.") from None
        return FileResponse(handle, as_attachment=not name, filename=asset.original_name if not name else None)

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="One page (1-based) instead of the whole text."),
            OpenApiParameter("offset", int, description="Characters to skip (default 0)."),
            OpenApiParameter("limit", int, description="Characters to return at most (default: all)."),
        ],
        responses={(200, "text/plain"): str},
    )
    @action(detail=True, methods=["get"])
    def text(self, request, pk=None):
        """A document's extracted text as plain text, pages separated by form feeds (\\f).

        Headers: `X-Pages` (absent for formats without pages), `X-Total-Characters`,
        `X-Truncated` (the document had more text than the limit kept).
        """
        asset = self.get_object()
        extracted = selectors.media_text_get(tenant=request.tenant, asset_id=asset.pk)
        if extracted is None:
            raise Http404("This asset has no extracted text (not a readable document, or not processed yet).")
        params = request.query_params
        offset, limit = _count(params, "offset", 0), _count(params, "limit", None)
        body = extracted.text
        if "page" in params:
            try:
                body = extracted.page(int(params["page"]))
            except (ValueError, IndexError):
                raise ServiceError({"page": f"page must be a number from 1 to {len(extracted.page_starts)}."}) from None
        body = body[offset : None if limit is None else offset + limit]
        response = HttpResponse(body, content_type="text/plain; charset=utf-8")
        if asset.metadata.get("pages") is not None:
            response["X-Pages"] = str(asset.metadata["pages"])
        response["X-Total-Characters"] = str(len(extracted.text))
        response["X-Truncated"] = "true" if extracted.truncated else "false"
        return response

    @extend_schema(request=None, responses={202: MediaAssetSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop processing a pending or processing asset (409 otherwise); it ends `failed`."""
        asset = self.get_object()
        media.media_cancel(asset=asset)
        asset = selectors.media_get(tenant=request.tenant, asset_id=asset.pk)
        return Response(MediaAssetSerializer(asset).data, status=status.HTTP_202_ACCEPTED)


def _count(params, name: str, default: int | None) -> int | None:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except ValueError:
        value = -1
    if value < 0:
        raise ServiceError({name: f"{name} must be a whole number, 0 or more."})
    return value


class EmailSendView(APIView):
    required_permissions = {"post": Permission.EXECUTE}
    parser_classes = [JSONParser]

    @extend_schema(request=EmailSendSerializer, responses={202: CampaignDetailSerializer})
    def post(self, request):
        data = validated(EmailSendSerializer, request.data)
        campaign = email.email_send(tenant=request.tenant, actor=request.user, **data)
        return Response(CampaignDetailSerializer(campaign).data, status=status.HTTP_202_ACCEPTED)


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """E-mail campaigns (and single sends, `kind=single`) with each recipient's status."""

    required_permissions = {"create": Permission.EXECUTE}
    parser_classes = [JSONParser]

    def get_queryset(self):
        if schema_generation(self):
            return EmailCampaign.objects.none()
        campaigns = selectors.campaign_list(tenant=self.request.tenant, kind=self.request.query_params.get("kind"))
        return campaigns.prefetch_related("deliveries") if self.action == "retrieve" else campaigns

    def get_serializer_class(self):
        return CampaignDetailSerializer if self.action == "retrieve" else CampaignSerializer

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=["single", "campaign"])])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CampaignCreateSerializer, responses={202: CampaignDetailSerializer})
    def create(self, request):
        data = validated(CampaignCreateSerializer, request.data)
        campaign = email.email_campaign_create(
            tenant=request.tenant,
            name=data["name"],
            subject=data["subject"],
            body=data["body"],
            html=data["html"],
            recipients=[email.Recipient(r["email"], r["context"]) for r in data["recipients"]],
            actor=request.user,
        )
        campaign = selectors.campaign_list(tenant=request.tenant).prefetch_related("deliveries").get(pk=campaign.pk)
        return Response(CampaignDetailSerializer(campaign).data, status=status.HTTP_202_ACCEPTED)
