"""Work steps: what an EmailNode, UpdateRecordNode, WebhookNode, LLMNode or ExtractNode does.

`step_run` is idempotent per (execution, node): a step already completed returns its stored
output, so an activity retried after a crash does not act twice once its result was saved.
Business failures raise `StepError` (the activity turns it into a non-retryable error); anything
else propagates and Temporal retries with the node type's policy.
"""

import json
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from jobs import selectors as media_selectors
from llm import services as llm_services
from mono.errors import ServiceError
from mono.events import DomainEvent, emit
from mono.kernel import schemas, templating
from mono.kernel.outbound import OutboundPolicy, OutboundRequestRefused, send
from tenants.models import Tenant
from workflows.models import EmailTemplate, Record, StepExecution, StepStatus
from workflows.services import payloads

LOCAL_STEPS = {"UpdateRecordNode"}


class StepError(Exception):
    """A step cannot succeed however often it is retried (bad data, refused URL, missing template)."""


def step_run(
    *, tenant_id: int, execution_id: str, node_id: str, node_type: str, data: dict, variables: dict, attempt: int = 1
) -> dict[str, Any]:
    done = StepExecution.objects.for_tenant(tenant_id).filter(
        execution_id=execution_id, node_id=node_id, status=StepStatus.COMPLETED
    )
    if stored := done.values("output").first():
        return stored["output"] or {}
    record = {"tenant_id": tenant_id, "execution_id": execution_id, "node_id": node_id, "node_type": node_type}
    step_record(**record, status=StepStatus.RUNNING, attempt=attempt)
    # Outputs above the payload limit came as references: read them back before rendering.
    variables = payloads.variables_resolve(tenant_id=tenant_id, execution_id=execution_id, variables=variables)
    try:
        # A record write and its "completed" mark commit together, so a retry after a crash never
        # applies the write twice. Steps with outside effects (mail, HTTP, LLM: usage rows and
        # limit locks must not wait on or roll back with the step) run outside a transaction.
        with transaction.atomic() if node_type in LOCAL_STEPS else nullcontext():
            output = PERFORMERS[node_type](
                tenant_id=tenant_id, data=data, variables=variables, execution_id=execution_id, node_id=node_id
            )
            step_record(**record, status=StepStatus.COMPLETED, output=output, attempt=attempt)
    except (StepError, templating.TemplateError) as exc:
        step_record(**record, status=StepStatus.FAILED, error=str(exc), attempt=attempt)
        raise StepError(str(exc)) from exc
    except Exception as exc:
        step_record(**record, status=StepStatus.RUNNING, error=f"attempt {attempt}: {exc}", attempt=attempt)
        raise
    return output


def email_send(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    if data.get("template"):
        template = EmailTemplate.objects.for_tenant(tenant_id).filter(name=data["template"]).first()
        if template is None:
            raise StepError(f"e-mail template {data['template']!r} does not exist in this tenant")
        subject, body = template.subject, template.body
    else:
        subject, body = data["subject"], data["body"]
    default_to = variables.get("input", {}).get("email", "")
    to = templating.render(data["to"], variables, field="to") if data.get("to") else default_to
    recipients = [address.strip() for address in to.split(",") if address.strip()]
    if not recipients:
        raise StepError("the e-mail has no recipient (data.to or input.email)")
    message = EmailMessage(
        subject=templating.render(subject, variables, field="subject").strip(),
        body=templating.render(body, variables, field="body"),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.send()
    return {"to": recipients, "subject": message.subject}


@transaction.atomic
def record_apply(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    """Create, update, upsert or delete one record of this tenant's record store, or update one
    row of an allow-listed project model."""
    if data.get("model"):
        return model_update(tenant_id=tenant_id, data=data, variables=variables)
    operation, collection = data["operation"], data["collection"]
    key = templating.render(str(data["key"]), variables, field="key")
    fields = templating.render_value(data.get("fields") or {}, variables, field="fields")
    records = Record.objects.for_tenant(tenant_id).select_for_update()
    existing = records.filter(collection=collection, key=key).first()
    if operation == "delete":
        if existing:
            existing.delete()
        return {"operation": operation, "collection": collection, "key": key, "deleted": existing is not None}
    if operation == "create" and existing:
        raise StepError(f"record {collection}/{key} already exists")
    if operation == "update" and not existing:
        raise StepError(f"record {collection}/{key} does not exist")
    record = existing or Record(tenant_id=tenant_id, collection=collection, key=key)
    record.fields = {**record.fields, **fields} if operation in ("update", "upsert") else fields
    record.save()
    return {"operation": operation, "collection": collection, "key": key, "fields": record.fields}


def model_update(*, tenant_id: int, data: dict, variables: dict) -> dict[str, Any]:
    """Update allow-listed fields of one of the tenant's rows of an allow-listed model."""
    label = data["model"]
    allowed = settings.WORKFLOW_UPDATABLE_MODELS.get(label)
    if allowed is None:
        raise StepError(f"model {label} is not one workflows may update")
    fields = templating.render_value(data.get("fields") or {}, variables, field="fields")
    refused = sorted(set(fields) - set(allowed))
    if refused:
        raise StepError(f"fields {', '.join(refused)} of {label} may not be updated by workflows")
    model = apps.get_model(label)
    key = templating.render(str(data["key"]), variables, field="key")
    # for_tenant(): a key naming another tenant's row finds nothing, exactly like a missing one.
    instance = model.objects.for_tenant(tenant_id).select_for_update().filter(pk=key).first()
    if instance is None:
        raise StepError(f"{label} {key} does not exist in this tenant")
    for field, value in fields.items():
        setattr(instance, field, value)
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise StepError(f"{label} {key}: {exc.message_dict}") from exc
    instance.save(update_fields=list(fields))
    return {"operation": "update", "model": label, "key": key, "fields": fields}


def webhook_call(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    url = templating.render(data["url"], variables, field="url")
    headers = templating.render_value(data.get("headers") or {}, variables, field="headers")
    body = templating.render_value(data.get("body"), variables, field="body") if data.get("body") is not None else None
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    secret = (
        Tenant.objects.filter(pk=tenant_id).values_list("webhook_signing_secret", flat=True).first()
        if data.get("sign")
        else None
    )
    # Stable across retries, signed or not, so receivers can drop duplicates (at-least-once).
    message_id = f"{execution_id}-{node_id}"
    if not secret:
        headers = {name: value for name, value in headers.items() if name.lower() != "webhook-id"}
        headers["webhook-id"] = message_id
    policy = OutboundPolicy(
        allowed_hosts=frozenset(settings.WEBHOOK_ALLOWED_HOSTS), timeout_seconds=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    try:
        response = send(
            data.get("method", "POST"),
            url,
            headers=headers,
            body=body.encode() if body else None,
            policy=policy,
            signing_secret=secret,
            message_id=message_id if secret else None,  # signing puts it in `webhook-id`
        )
    except OutboundRequestRefused as exc:
        raise StepError(f"webhook refused: {exc}") from exc
    if response.status_code >= 500:
        raise RuntimeError(f"webhook answered {response.status_code}")  # retried with backoff
    if response.status_code >= 400:
        raise StepError(f"webhook answered {response.status_code}: {response.body[:200]!r}")
    try:
        payload = json.loads(response.body) if response.body else None
    except ValueError:
        payload = response.body.decode(errors="replace")[:10_000]
    return {"status_code": response.status_code, "body": payload}


def llm_prompt(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    """Ask the LLM gateway (same limits, failover, usage and cost as the API); with an
    `output_schema`, the answer must be JSON satisfying it."""
    if data.get("template"):
        spec_fields = {
            "template": data["template"],
            "variables": templating.render_value(data.get("variables") or {}, variables, field="variables"),
        }
    else:
        messages = [
            {"role": m["role"], "content": templating.render(m["content"], variables, field=f"messages[{i}].content")}
            for i, m in enumerate(data["messages"])
        ]
        spec_fields = {"messages": messages}
    schema = data.get("output_schema")
    spec = llm_services.PromptSpec(
        route=data.get("route", ""),
        provider=data.get("provider", ""),
        model=data.get("model", ""),
        temperature=data.get("temperature"),
        max_tokens=data.get("max_tokens"),
        json_output=schema is not None,
        **spec_fields,
    )
    try:
        call = llm_services.llm_call(
            tenant_id=tenant_id, spec=spec, scope="workflow", execution_id=execution_id, node_id=node_id
        )
        result = llm_services.llm_execute(call=call)
    except ServiceError as exc:
        if llm_services.llm_failure_is_temporary(exc):
            raise RuntimeError(f"LLM gateway: {exc.detail}") from exc  # Temporal retries with the node's policy
        raise StepError(f"LLM gateway: {exc.detail}") from exc
    output = {
        k: result.as_dict()[k]
        for k in ("content", "provider", "model", "input_tokens", "output_tokens", "cost", "cached")
    }
    if schema is not None:
        try:
            output["json"] = json.loads(result.content)
            schemas.validate(output["json"], schema)
        except ValueError as exc:  # not JSON, or a schemas.SchemaError
            raise StepError(f"the answer does not match output_schema: {str(exc).splitlines()[0]}") from exc
    return output


def _gateway_failure(exc: ServiceError) -> Exception:
    if llm_services.llm_failure_is_temporary(exc):
        return RuntimeError(f"LLM gateway: {exc.detail}")  # Temporal retries with the node's policy
    return StepError(f"LLM gateway: {exc.detail}")


def image_generate(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    """Generate images through the gateway; only the stored assets' ids travel on, never the bytes."""
    spec = llm_services.ImageSpec(
        prompt=data["prompt"],  # rendered once, by the gateway entry, with the run's variables
        variables=variables,
        size=data.get("size") or "1024x1024",
        quality=data.get("quality") or "",
        n=data.get("n") or 1,
        route=data.get("route", ""),
        provider=data.get("provider", ""),
        model=data.get("model", ""),
    )
    try:
        result = llm_services.llm_images(
            tenant=Tenant.objects.get(pk=tenant_id), spec=spec, scope="workflow", execution_id=execution_id,
            node_id=node_id,
        )  # fmt: skip
    except ServiceError as exc:
        raise _gateway_failure(exc) from exc
    return {
        "assets": [asset["id"] for asset in result["assets"]],
        **{k: result[k] for k in ("revised_prompt", "provider", "model", "size", "quality", "cost")},
    }


def audio_transcribe(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    """Transcribe an audio media asset through the gateway; the text and the asset id travel on."""
    media = data["media"]
    media_id = media if isinstance(media, int) else templating.render(str(media), variables, field="media").strip()
    try:
        result = llm_services.llm_transcribe(
            tenant_id=tenant_id, media_id=media_id, route=data.get("route", ""), provider=data.get("provider", ""),
            model=data.get("model") or ("" if data.get("route") else "whisper-1"), language=data.get("language", ""),
            scope="workflow", execution_id=execution_id, node_id=node_id,
        )  # fmt: skip
    except ServiceError as exc:
        raise _gateway_failure(exc) from exc
    return {"media": int(media_id), **{k: result[k] for k in ("text", "language", "duration", "cost")}}


def media_extract(
    *, tenant_id: int, data: dict, variables: dict, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    """A processed document's text: at most `max_pages` pages and `max_chars` characters, with a
    reference (`rest`) to the remainder, so the step's output stays small.

    An asset still being processed raises a retryable error: Temporal asks again with backoff
    (the node's retry policy bounds the wait), and no worker slot is held in between.
    """
    raw = templating.render(str(data["media"]), variables, field="media").strip()
    try:
        asset_id = int(raw)
    except ValueError:
        raise StepError(f"media must be an asset id, not {raw[:100]!r}") from None
    try:
        return media_selectors.media_text_excerpt(
            tenant=tenant_id, asset_id=asset_id, max_chars=data["max_chars"], max_pages=data.get("max_pages")
        )
    except media_selectors.MediaNotReady as exc:
        raise RuntimeError(str(exc)) from exc  # retried
    except media_selectors.MediaUnusable as exc:
        raise StepError(str(exc)) from exc


PERFORMERS = {
    "ExtractNode": media_extract,
    "EmailNode": email_send,
    "UpdateRecordNode": record_apply,
    "WebhookNode": webhook_call,
    "LLMNode": llm_prompt,
    "ImageNode": image_generate,
    "TranscribeNode": audio_transcribe,
}


def step_record(
    *,
    tenant_id: int,
    execution_id: str,
    node_id: str,
    node_type: str,
    status: str,
    output: Any = None,
    error: str = "",
    input: Any = None,
    attempt: int = 1,
    at: datetime | None = None,
) -> StepExecution:
    """Create or move one step's row (start, wait, decision, end, approval, or a work step).

    `at` is when the change happened, for a record the workflow wrote later than it computed it.
    """
    now = at or timezone.now()
    finished = status in (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED)
    defaults = {"node_type": node_type, "status": status, "error": error, "attempt": attempt}
    if output is not None:
        defaults["output"] = output
    if input is not None:
        defaults["input"] = input
    if finished:
        defaults["finished_at"] = now
    step, _ = StepExecution.objects.update_or_create(
        tenant_id=tenant_id,
        execution_id=execution_id,
        node_id=node_id,
        defaults=defaults,
        create_defaults={**defaults, "started_at": now},
    )
    seconds = (step.finished_at - step.started_at).total_seconds() if finished and step.started_at else None
    emit(
        DomainEvent(
            f"step.{status}",
            tenant_id,
            execution_id,
            {"node_id": node_id, "node_type": node_type, "error": error, "seconds": seconds, "attempt": attempt},
        )
    )
    return step
