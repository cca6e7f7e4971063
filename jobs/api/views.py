"""Background-job API: media uploads and their variants, e-mail sends and campaigns."""

from django.http import FileResponse, Http404
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
from jobs.models import EmailCampaign, MediaAsset, MediaKind
from jobs.services import email, media
from mono.api import schema_generation, validated
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
        return selectors.media_list(tenant=self.request.tenant, kind=params.get("kind"), status=params.get("status"))

    @extend_schema(parameters=[OpenApiParameter("kind", str), OpenApiParameter("status", str)])
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
        # 202 while an image's variants are still to be made; other files are ready at once.
        code = status.HTTP_202_ACCEPTED if asset.kind == MediaKind.IMAGE else status.HTTP_201_CREATED
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
