"""LLM gateway data: tenant provider credentials, prices, prompt templates, usage, limits,
cache and provider health."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from mono.starts import OwedStart
from tenants.models import TenantOwned

# Costs are kept to 1e-10 USD: one short request to a small model costs about 1e-6.
COST_PRECISION = Decimal("1e-10")


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    MISTRAL = "mistral", "Mistral"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible"


class ProviderCredential(TenantOwned):
    """A tenant's own key (and endpoint) for a provider, overriding the platform's settings.

    `name` is what routes refer to (`openai`, or e.g. `local-vllm` for an OpenAI-compatible
    endpoint). The key is stored encrypted (see `mono.crypto`) and never returned by the API.
    """

    name = models.SlugField(max_length=50)
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    base_url = models.URLField(blank=True)
    api_key_encrypted = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="credential_unique_name")]
        verbose_name = "provider credential"
        verbose_name_plural = "provider credentials"

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class ModelPrice(models.Model):
    """Public list price of a model (admin-editable, platform-wide): per million tokens for chat,
    per image by `size/quality` for image models, per audio minute for transcription models.

    An image model's `image_prices` keys are also the sizes and qualities it accepts."""

    provider = models.CharField(max_length=20, choices=ProviderKind.choices)
    model = models.CharField(max_length=100)
    input_per_million = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))
    output_per_million = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))
    image_prices = models.JSONField(
        default=dict, blank=True, help_text='USD per image by "size/quality", e.g. {"1024x1024/standard": "0.04"}.'
    )
    per_audio_minute = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "model"]
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="price_unique_model")]
        verbose_name = "model price"
        verbose_name_plural = "model prices"

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        million = Decimal(1_000_000)
        total = (self.input_per_million * input_tokens + self.output_per_million * output_tokens) / million
        return total.quantize(COST_PRECISION)

    def image_cost(self, size: str, quality: str, count: int) -> Decimal:
        """The price of `count` images of `size` and `quality` (0 when that pair has no price)."""
        return (Decimal(str(self.image_prices.get(f"{size}/{quality}", 0))) * count).quantize(COST_PRECISION)

    def audio_cost(self, seconds: float) -> Decimal:
        """The price of `seconds` of transcribed audio, billed by the second."""
        per_minute = self.per_audio_minute or Decimal(0)
        return (per_minute * Decimal(str(seconds)) / 60).quantize(COST_PRECISION)


class PromptTemplate(TenantOwned):
    name = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="prompt_template_unique_name")]
        verbose_name = "prompt template"
        verbose_name_plural = "prompt templates"

    def __str__(self) -> str:
        return self.name

    @property
    def latest_version(self) -> "PromptTemplateVersion | None":
        return self.versions.order_by("-number").first()


class PromptTemplateVersion(TenantOwned):
    """Immutable: editing a prompt template adds a version."""

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    system = models.TextField(blank=True)
    user = models.TextField()
    route = models.CharField(max_length=300, blank=True, help_text="Default route, e.g. openai:gpt-4o > anthropic:…")
    cache_ttl_seconds = models.PositiveIntegerField(default=0, help_text="0: never cached.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="prompt_version_unique_number")]
        verbose_name = "prompt template version"
        verbose_name_plural = "prompt template versions"

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class UsageStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    CACHED = "cached", "Cached"


class UsageScope(models.TextChoices):
    API = "api", "API request"
    WORKFLOW = "workflow", "Workflow step"
    BATCH = "batch", "Batch"


class UsageOperation(models.TextChoices):
    CHAT = "chat", "Chat"
    IMAGE = "image", "Image generation"
    TRANSCRIPTION = "transcription", "Transcription"


class LLMUsage(TenantOwned):
    """One provider attempt (or cache hit): what it cost and how it went."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    scope = models.CharField(max_length=16, choices=UsageScope.choices)
    operation = models.CharField(max_length=16, choices=UsageOperation.choices, default=UsageOperation.CHAT)
    images = models.PositiveIntegerField(default=0)
    audio_seconds = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=100)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(0))
    latency_ms = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=UsageStatus.choices)
    error_kind = models.CharField(max_length=30, blank=True)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=200, blank=True)
    streamed = models.BooleanField(default=False)
    execution_id = models.CharField(max_length=64, blank=True, db_index=True)
    node_id = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"])]
        verbose_name = "LLM usage record"
        verbose_name_plural = "LLM usage records"

    def __str__(self) -> str:
        return f"{self.provider}:{self.model} {self.status}"


class LimitPolicy(TenantOwned):
    """Limits for a tenant (`provider` blank) or a tenant + provider. Blank limits are unlimited."""

    provider = models.CharField(max_length=50, blank=True)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    monthly_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "provider"], name="limit_unique_provider")]
        verbose_name = "limit policy"
        verbose_name_plural = "limit policies"

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.provider or '*'}"


class LimitUsage(TenantOwned):
    """Counters the limits are enforced against, one row per policy and window.

    `window` is a minute (`2026-11-25T10:31`) for rate limits or a month (`2026-11`) for the
    budget; the policy row is locked while a reservation reads and moves these counters.
    """

    policy = models.ForeignKey(LimitPolicy, on_delete=models.CASCADE, related_name="usage")
    window = models.CharField(max_length=20)
    requests = models.PositiveIntegerField(default=0)
    tokens = models.PositiveIntegerField(default=0)
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(0))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "window"], name="limit_usage_unique_window")]
        verbose_name = "limit usage window"
        verbose_name_plural = "limit usage windows"


class CachedResponse(TenantOwned):
    key = models.CharField(max_length=64)
    response = models.JSONField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="cache_unique_key")]
        verbose_name = "cached LLM response"
        verbose_name_plural = "cached LLM responses"


class ProviderHealth(models.Model):
    """Circuit-breaker state of a provider endpoint, shared by every web and worker process."""

    key = models.CharField(max_length=200, unique=True, help_text="provider name @ base URL")
    cooldown_until = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "provider health"
        verbose_name_plural = "provider health"

    def __str__(self) -> str:
        return self.key


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # recorded, its workflow not started yet (the relay retries)
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    FAILED = "failed", "Failed"  # its workflow never started (see `error`)


class LLMBatch(TenantOwned, OwedStart):
    """A batch of prompts run by `LLMBatchWorkflow`; its id is the workflow id."""

    id = models.CharField(primary_key=True, max_length=64)
    status = models.CharField(max_length=32, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    concurrency = models.PositiveIntegerField(default=4)
    total = models.PositiveIntegerField(default=0)
    items = models.JSONField(
        default=list, blank=True, help_text="The prompts as asked for, kept until the batch starts."
    )
    results = models.JSONField(null=True, blank=True, help_text="Per item: result or error, in input order.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="llm_batch_start_owed",
                condition=models.Q(next_attempt_at__isnull=False),
            ),
        ]
        verbose_name = "LLM batch"
        verbose_name_plural = "LLM batches"

    def __str__(self) -> str:
        return self.id
