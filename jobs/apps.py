from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from jobs.models import EmailCampaign, MediaAsset
        from jobs.services import email, media
        from mono import starts

        starts.register(
            starts.StartKind(media.START_KIND, MediaAsset, launch=media.media_launch, give_up=media.media_give_up)
        )
        starts.register(
            starts.StartKind(
                email.START_KIND,
                EmailCampaign,
                launch=email.email_campaign_launch,
                give_up=email.email_campaign_give_up,
            )
        )
