"""Background-job reads."""

from django.contrib.postgres.search import SearchQuery
from django.db.models import Prefetch, Q, QuerySet

from jobs.models import EmailCampaign, MediaAsset, MediaText, MediaVariant


def media_list(
    *, tenant, kind: str | None = None, status: str | None = None, q: str | None = None
) -> QuerySet[MediaAsset]:
    """The tenant's assets, newest first; `q` matches the file name or the extracted text.

    Text is matched with PostgreSQL full-text search (`websearch_to_tsquery`, so `"exact phrase"`,
    `or` and `-word` work) in the `simple` configuration: whole words, no stemming, any language,
    served by the GIN index on `MediaText.search`.
    """
    assets = MediaAsset.objects.for_tenant(tenant).prefetch_related(
        Prefetch("variants", queryset=MediaVariant.objects.for_tenant(tenant))
    )
    if kind:
        assets = assets.filter(kind=kind)
    if status:
        assets = assets.filter(status=status)
    if q and q.strip():
        query = SearchQuery(q.strip(), search_type="websearch", config="simple")
        texts = MediaText.objects.for_tenant(tenant).filter(search=query).values("asset_id")
        assets = assets.filter(Q(original_name__icontains=q.strip()) | Q(pk__in=texts))
    return assets


def media_get(*, tenant, asset_id: int) -> MediaAsset | None:
    return media_list(tenant=tenant).filter(pk=asset_id).first()


def media_text_get(*, tenant, asset_id: int) -> MediaText | None:
    return MediaText.objects.for_tenant(tenant).filter(asset_id=asset_id).first()


class MediaNotReady(Exception):
    """The asset is still being processed: ask again later."""


class MediaUnusable(Exception):
    """The asset is missing, failed, or has no text: asking again will not help."""


def media_text_excerpt(*, tenant, asset_id: int, max_chars: int, max_pages: int | None = None) -> dict:
    """A processed document's text, cut to `max_pages` and `max_chars`, with a reference to the rest.

    What a workflow step carries: small enough for a Temporal payload whatever the document's size.
    """
    asset = MediaAsset.objects.for_tenant(tenant).filter(pk=asset_id).first()
    if asset is None:
        raise MediaUnusable(f"media {asset_id} does not exist in this tenant")
    if asset.status in ("pending", "processing"):
        raise MediaNotReady(f"media {asset_id} is still {asset.status}")
    if asset.status == "failed":
        raise MediaUnusable(f"media {asset_id} could not be processed: {asset.error}")
    extracted = media_text_get(tenant=tenant, asset_id=asset_id)
    if extracted is None:
        raise MediaUnusable(f"media {asset_id} ({asset.kind}, {asset.content_type}) has no extracted text")
    total_pages = len(extracted.page_starts)
    text = extracted.text
    if max_pages is not None and max_pages < total_pages:
        text = text[: extracted.page_starts[max_pages] - 1]
    text = text[:max_chars]
    rest = len(text) < len(extracted.text)
    return {
        "media": asset.pk,
        "name": asset.original_name,
        "content_type": asset.content_type,
        "pages": asset.metadata.get("pages"),
        "language": asset.metadata.get("language", ""),
        "text": text,
        "characters": len(extracted.text),
        "truncated": rest or extracted.truncated,
        # Where the rest is: the API serves the text from any offset.
        "rest": {"url": f"/api/v1/media/{asset.pk}/text?offset={len(text)}", "offset": len(text)} if rest else None,
    }


def campaign_list(*, tenant, kind: str | None = None) -> QuerySet[EmailCampaign]:
    campaigns = EmailCampaign.objects.for_tenant(tenant)
    return campaigns.filter(kind=kind) if kind else campaigns
