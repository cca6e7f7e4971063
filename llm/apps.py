from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "LLM gateway"

    def ready(self) -> None:
        from llm import services
        from llm.models import LLMBatch
        from mono import starts

        starts.register(
            starts.StartKind(
                services.BATCH_START_KIND, LLMBatch, launch=services.batch_launch, moves=services.BATCH_MOVES
            )
        )
