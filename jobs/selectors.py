"""Background-job reads."""

from django.db.models import Prefetch, QuerySet

from jobs.models import EmailCampaign, MediaAsset, MediaVariant


def media_list(*, tenant, kind: str | None = None, status: str | None = None) -> QuerySet[MediaAsset]:
    assets = MediaAsset.objects.for_tenant(tenant).prefetch_related(
        Prefetch("variants", queryset=MediaVariant.objects.for_tenant(tenant))
    )
    if kind:
        assets = assets.filter(kind=kind)
    if status:
        assets = assets.filter(status=status)
    return assets


def media_get(*, tenant, asset_id: int) -> MediaAsset | None:
    return media_list(tenant=tenant).filter(pk=asset_id).first()


def campaign_list(*, tenant, kind: str | None = None) -> QuerySet[EmailCampaign]:
    campaigns = EmailCampaign.objects.for_tenant(tenant)
    return campaigns.filter(kind=kind) if kind else campaigns
