from django.urls import path

from llm.api.credentials import CredentialsView
from llm.api.limits import LimitsView
from llm.api.views import (
    AnalyticsView,
    BatchDetailView,
    BatchView,
    ExecuteView,
    ImagesView,
    PromptTemplatesView,
    ProvidersView,
    TranscriptionsView,
)

urlpatterns = [
    path("llm/execute", ExecuteView.as_view(), name="llm-execute"),
    path("llm/images", ImagesView.as_view(), name="llm-images"),
    path("llm/transcriptions", TranscriptionsView.as_view(), name="llm-transcriptions"),
    path("llm/batch", BatchView.as_view(), name="llm-batch"),
    path("llm/batch/<str:batch_id>", BatchDetailView.as_view(), name="llm-batch-detail"),
    path("llm/providers", ProvidersView.as_view(), name="llm-providers"),
    path("llm/analytics", AnalyticsView.as_view(), name="llm-analytics"),
    path("llm/limits", LimitsView.as_view(), name="llm-limits"),
    path("llm/credentials", CredentialsView.as_view(), name="llm-credentials"),
    path("llm/templates", PromptTemplatesView.as_view(), name="llm-templates"),
]
