"""Background-job data: uploaded media with their image variants, e-mail campaigns and deliveries."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.text import get_valid_filename

from mono.starts import OwedStart
from tenants.models import TenantOwned

# Every file this app writes lives under this prefix of the default storage, so the orphan
# cleanup never walks (or deletes) another app's files.
MEDIA_PREFIX = "media"


def asset_upload_to(asset: "MediaAsset", filename: str) -> str:
    """`media/<tenant>/<random>/<name>`: a fresh folder per upload, so names never collide."""
    name = get_valid_filename(PurePosixPath(filename).name)[-100:] or "upload"
    return f"{MEDIA_PREFIX}/{asset.tenant_id}/{uuid.uuid4().hex}/{name}"


def variant_path(*, tenant_id: int, asset_id: int, name: str, extension: str) -> str:
    """Where a variant is stored: fixed per (asset, name), so a re-run replaces it in place."""
    return f"{MEDIA_PREFIX}/{tenant_id}/variants/{asset_id}/{name}.{extension}"


class MediaKind(models.TextChoices):
    IMAGE = "image", "Image"
    DOCUMENT = "document", "Document"
    VIDEO = "video", "Video"
    OTHER = "other", "Other"


class MediaStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class MediaAsset(TenantOwned, OwedStart):
    """An uploaded file; images get resized variants from the tenant's image queue."""

    file = models.FileField(upload_to=asset_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, help_text="Detected from the bytes, not the client's header.")
    size = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    status = models.CharField(max_length=12, choices=MediaStatus.choices, default=MediaStatus.PENDING)
    error = models.TextField(blank=True)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes.")
    variant_specs = models.JSONField(default=list, blank=True, help_text="The variants asked for at upload.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When Temporal took the variant workflow; empty: the relay retries."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(
        default=dict,
        blank=True,
        help_text="What processing found: a document's pages, text preview and language; a video's duration, size "
        "and codecs.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status"], name="media_tenant_status"),
            models.Index(
                fields=["next_attempt_at"], name="media_start_owed", condition=models.Q(next_attempt_at__isnull=False)
            ),
        ]
        verbose_name = "media asset"
        verbose_name_plural = "media assets"

    def __str__(self) -> str:
        return f"{self.original_name} ({self.kind}, {self.status})"


class MediaText(TenantOwned):
    """A document's extracted text, kept apart from the asset so lists never load it.

    `page_starts[i]` is where page i+1 begins in `text` (one entry for formats without pages).
    `search` is the text's PostgreSQL full-text vector (the `simple` configuration: no stemming,
    so it works the same for every language), written with the text.
    """

    asset = models.OneToOneField(MediaAsset, on_delete=models.CASCADE, related_name="extracted")
    text = models.TextField(blank=True)
    page_starts = models.JSONField(default=list, blank=True)
    truncated = models.BooleanField(default=False, help_text="The document had more text than the limit kept.")
    search = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [GinIndex(fields=["search"], name="media_text_search")]
        verbose_name = "media text"
        verbose_name_plural = "media texts"

    def __str__(self) -> str:
        return f"text of asset {self.asset_id} ({len(self.text)} characters)"

    def page(self, number: int) -> str:
        """The text of page `number` (1-based); an IndexError past the last page."""
        if not 1 <= number <= len(self.page_starts):
            raise IndexError(number)
        # Pages are joined by one form feed, which belongs to neither.
        end = self.page_starts[number] - 1 if number < len(self.page_starts) else len(self.text)
        return self.text[self.page_starts[number - 1] : end]


class MediaVariant(TenantOwned):
    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="variants")
    name = models.SlugField(max_length=50)
    file = models.FileField(max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset", "name"]
        constraints = [models.UniqueConstraint(fields=["asset", "name"], name="media_variant_unique_name")]
        verbose_name = "media variant"
        verbose_name_plural = "media variants"

    def __str__(self) -> str:
        return f"{self.name} {self.width}x{self.height} {self.format}"


class CampaignKind(models.TextChoices):
    SINGLE = "single", "Single message"
    CAMPAIGN = "campaign", "Campaign"


class CampaignStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    FAILED = "failed", "Failed"


class EmailCampaign(TenantOwned, OwedStart):
    """One send to one or many recipients; its templates are rendered per recipient."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=CampaignKind.choices, default=CampaignKind.CAMPAIGN)
    subject_template = models.TextField()
    body_template = models.TextField()
    html_template = models.TextField(blank=True)
    status = models.CharField(max_length=24, choices=CampaignStatus.choices, default=CampaignStatus.PENDING)
    total_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="campaign_start_owed",
                condition=models.Q(next_attempt_at__isnull=False),
            ),
        ]
        verbose_name = "e-mail campaign"
        verbose_name_plural = "e-mail campaigns"

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def workflow_id(self) -> str:
        return f"email-campaign-{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class EmailDelivery(TenantOwned):
    campaign = models.ForeignKey(EmailCampaign, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.EmailField(max_length=254)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "recipient"], name="delivery_unique_recipient")]
        verbose_name = "e-mail delivery"
        verbose_name_plural = "e-mail deliveries"

    def __str__(self) -> str:
        return f"{self.recipient} ({self.status})"
