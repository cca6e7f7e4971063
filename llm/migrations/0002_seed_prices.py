"""Seed list prices (USD per million tokens, providers' public price pages, late 2026 list).

Operators keep them current in the admin; a later edit is never overwritten by this migration.
"""

from decimal import Decimal

from django.db import migrations

PRICES = [
    ("openai", "gpt-4o", "2.50", "10.00"),
    ("openai", "gpt-4o-mini", "0.15", "0.60"),
    ("openai", "gpt-4.1", "2.00", "8.00"),
    ("openai", "gpt-4.1-mini", "0.40", "1.60"),
    ("anthropic", "claude-3-5-sonnet-latest", "3.00", "15.00"),
    ("anthropic", "claude-3-5-haiku-latest", "0.80", "4.00"),
    ("anthropic", "claude-sonnet-4-5", "3.00", "15.00"),
    ("mistral", "mistral-large-latest", "2.00", "6.00"),
    ("mistral", "mistral-small-latest", "0.20", "0.60"),
]


def seed(apps, schema_editor):
    ModelPrice = apps.get_model("llm", "ModelPrice")
    for provider, model, prompt, completion in PRICES:
        ModelPrice.objects.get_or_create(
            provider=provider,
            model=model,
            defaults={"input_per_million": Decimal(prompt), "output_per_million": Decimal(completion)},
        )


class Migration(migrations.Migration):
    dependencies = [("llm", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
