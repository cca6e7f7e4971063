from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from jobs.models import EmailCampaign, MediaAsset
        from jobs.services import email, media
        from mono import starts

        starts.register(
            starts.StartKind(media.START_KIND, MediaAsset, launch=media.media_launch, moves=media.MEDIA_MOVES)
        )
        starts.register(
            starts.StartKind(
                email.START_KIND,
                EmailCampaign,
                launch=email.email_campaign_launch,
                moves=email.CAMPAIGN_MOVES,
            )
        )
