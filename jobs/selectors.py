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


def campaign_list(*, tenant, kind: str | None = None) -> QuerySet[EmailCampaign]:
    campaigns = EmailCampaign.objects.for_tenant(tenant)
    return campaigns.filter(kind=kind) if kind else campaigns
