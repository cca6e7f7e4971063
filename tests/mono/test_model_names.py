"""The admin index is the operators' home page: every model names itself properly there."""

from django.apps import apps

PROJECT_APPS = {"tenants", "workflows", "llm", "webhooks", "audit", "jobs", "maintenance", "console", "mono"}


def project_models():
    return [model for model in apps.get_models() if model._meta.app_label in PROJECT_APPS]


def test_every_model_declares_its_verbose_name_and_plural():
    # Django's fallback ("limit policys", "llm batchs") is what an undeclared name looks like.
    undeclared = [
        model._meta.label
        for model in project_models()
        if not {"verbose_name", "verbose_name_plural"} <= set(model._meta.original_attrs)
    ]
    assert project_models() and undeclared == []


def test_the_names_the_admin_index_showed_wrong_are_right():
    plural = {model._meta.label: str(model._meta.verbose_name_plural) for model in project_models()}
    assert plural["llm.LimitPolicy"] == "limit policies"
    assert plural["llm.LLMBatch"] == "LLM batches"
    assert plural["llm.LLMUsage"] == "LLM usage records"
    assert plural["llm.ProviderHealth"] == "provider health"
