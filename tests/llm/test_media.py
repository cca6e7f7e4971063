"""Images and transcription through the gateway, driven through the API with the unmodified OpenAI SDK
against the fake provider: assets stored, one usage row per attempt with its cost, and 400/502 answers."""

import io
import wave
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import MediaAsset
from jobs.services import media as media_services
from llm import services
from llm.models import LLMUsage, ModelPrice
from tests.llm.conftest import api_as
from tests.support.fake_llm import TINY_PNG, Error


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media-root")
    return tmp_path / "media-root"


@pytest.fixture
def media_prices(transactional_db):
    for provider in ("openai", "openai_compatible"):
        ModelPrice.objects.update_or_create(
            provider=provider,
            model="dall-e-3",
            defaults={"image_prices": {"1024x1024/standard": "0.04", "1024x1024/hd": "0.08"}},
        )
    for model in ("whisper-1", "gpt-4o-transcribe"):
        ModelPrice.objects.update_or_create(
            provider="openai", model=model, defaults={"per_audio_minute": Decimal("0.006")}
        )


def wav_bytes(seconds: float = 0.1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))
    return buffer.getvalue()


def test_an_image_is_stored_as_a_tenant_asset_with_its_usage_and_cost(fake_llm, acme, media_prices, media_root):
    response = api_as(acme, "erin").post(
        "/api/v1/llm/images",
        {
            "model": "dall-e-3",
            "prompt": "A {{ animal }} on a roof",
            "variables": {"animal": "cat"},
            "size": "1024x1024",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    [asset] = MediaAsset.objects.for_tenant(acme)
    assert body["assets"] == [{"id": asset.pk, "content_type": "image/png", "size": len(TINY_PNG), "status": "pending"}]
    assert asset.file.read() == TINY_PNG
    assert (body["quality"], body["cost"], body["revised_prompt"]) == (
        "standard",
        "0.0400000000",
        "revised: A cat on a roof",
    )
    sent = fake_llm.last("openai")
    assert sent.path.endswith("/v1/images/generations") and sent.body["response_format"] == "b64_json"
    [row] = LLMUsage.objects.for_tenant(acme)
    assert (row.operation, row.images, row.cost, row.status) == ("image", 1, Decimal("0.04"), "ok")
    analytics = api_as(acme, "erin").get("/api/v1/llm/analytics?group_by=operation").json()["rows"]
    assert analytics == [{"operation": "image", "requests": 1, "input_tokens": 0, "output_tokens": 0, "images": 1,
                          "audio_seconds": 0.0, "cost": "0.0400000000"}]  # fmt: skip


def test_images_fail_over_along_the_route_with_a_usage_row_per_attempt(fake_llm, acme, media_prices, media_root):
    services.credential_save(
        tenant=acme, name="backup", kind="openai_compatible", base_url=fake_llm.compatible_url("backup"), api_key="k"
    )
    fake_llm.script("openai", [Error(503, message="down")])
    response = api_as(acme, "erin").post(
        "/api/v1/llm/images", {"route": "openai:dall-e-3 > backup:dall-e-3", "prompt": "x", "n": 2}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["provider"] == "backup" and len(response.json()["assets"]) == 2
    rows = LLMUsage.objects.for_tenant(acme).order_by("created_at")
    assert [(r.provider, r.status, r.images, r.cost) for r in rows] == [
        ("openai", "error", 0, 0),
        ("backup", "ok", 2, Decimal("0.08")),
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"size": "640x480"}, "size"), ({"quality": "ultra"}, "quality"), ({"n": 9}, "n"), ({"prompt": "{{ x"}, "prompt")],
)
def test_bad_image_requests_are_400_naming_the_field(fake_llm, acme, media_prices, payload, field):
    response = api_as(acme, "erin").post(
        "/api/v1/llm/images", {"model": "dall-e-3", "prompt": "x", **payload}, format="json"
    )
    assert response.status_code == 400 and field in response.json(), response.json()
    assert fake_llm.hits("openai") == 0 and not LLMUsage.objects.exists()


def test_a_provider_refusal_is_502_with_its_kind(fake_llm, acme, media_prices, media_root):
    fake_llm.script("openai", [Error(400, message="unsafe", code="content_policy_violation")])
    response = api_as(acme, "erin").post("/api/v1/llm/images", {"model": "dall-e-3", "prompt": "x"}, format="json")
    assert response.status_code == 502 and response.json()["kind"] == "content_policy"
    assert not MediaAsset.objects.exists()


def test_a_transcription_answers_text_language_duration_and_costs_per_minute(fake_llm, acme, media_prices):
    audio = SimpleUploadedFile("memo.wav", wav_bytes(), content_type="application/octet-stream")
    response = api_as(acme, "erin").post(
        "/api/v1/llm/transcriptions", {"file": audio, "model": "whisper-1", "language": "en"}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["text"], body["language"], body["duration"]) == ("hello from the fake transcriber", "en", 90.0)
    assert body["cost"] == "0.0090000000"  # 1.5 minutes at 0.006
    sent = fake_llm.last("openai").body
    assert sent["model"] == "whisper-1" and sent["response_format"] == "verbose_json"
    assert sent["file"]["size"] == len(wav_bytes())
    [row] = LLMUsage.objects.for_tenant(acme)
    assert (row.operation, row.audio_seconds, row.cost) == ("transcription", Decimal("90"), Decimal("0.009"))


def test_a_media_asset_can_be_transcribed_but_not_another_tenants(fake_llm, acme, globex, media_prices, media_root):
    mine = media_services.media_upload(tenant=acme, upload=SimpleUploadedFile("a.wav", wav_bytes()))
    theirs = media_services.media_upload(tenant=globex, upload=SimpleUploadedFile("b.wav", wav_bytes()))
    api = api_as(acme, "erin")
    ok = api.post("/api/v1/llm/transcriptions", {"media": mine.pk, "model": "gpt-4o-transcribe"}, format="json")
    assert ok.status_code == 200 and ok.json()["duration"] == 90.0
    assert fake_llm.last("openai").body["response_format"] == "json"
    refused = api.post("/api/v1/llm/transcriptions", {"media": theirs.pk, "model": "whisper-1"}, format="json")
    assert refused.status_code == 400 and "media" in refused.json()


def test_a_file_that_is_not_audio_or_too_large_is_400_naming_file(fake_llm, acme, media_prices, settings):
    api = api_as(acme, "erin")
    image = SimpleUploadedFile("voice.mp3", TINY_PNG, content_type="audio/mpeg")
    response = api.post("/api/v1/llm/transcriptions", {"file": image}, format="multipart")
    assert response.status_code == 400 and "not audio" in response.json()["file"]
    settings.LLM_TRANSCRIPTION_MAX_BYTES = 100
    large = SimpleUploadedFile("long.wav", wav_bytes())
    response = api.post("/api/v1/llm/transcriptions", {"file": large}, format="multipart")
    assert response.status_code == 400 and "larger" in response.json()["file"]
    assert fake_llm.hits("openai") == 0


def test_image_and_transcribe_nodes_pass_asset_ids_and_text_to_later_steps(
    fake_llm, acme, media_prices, media_root, start_workers
):
    from tenants.selectors import active_tenant_refs
    from tests.workflows import graphs
    from tests.workflows.conftest import wait_result
    from workflows.models import StepExecution
    from workflows.services import definitions, executions

    start_workers(tenant_source=active_tenant_refs)
    audio = media_services.media_upload(tenant=acme, upload=SimpleUploadedFile("memo.wav", wav_bytes()))
    graph = graphs.graph(
        graphs.START,
        graphs.node("draw", "image", model="dall-e-3", prompt="A {{ input.thing }}"),
        graphs.node("listen", "transcribe", media="{{ input.audio }}", model="whisper-1"),
        graphs.node("end", "EndNode", status="completed", output={"said": "{{ steps.listen.text }}"}),
        graphs.edge("start", "draw"),
        graphs.edge("draw", "listen"),
        graphs.edge("listen", "end"),
    )
    definition = definitions.definition_create(tenant=acme, name="Media", graph=graph)
    execution = wait_result(
        executions.execution_start(tenant=acme, definition=definition, input={"thing": "boat", "audio": audio.pk})
    )
    assert execution.status == "completed", execution.error
    assert execution.output == {"said": "hello from the fake transcriber"}
    steps = {s.node_id: s.output for s in StepExecution.objects.for_tenant(acme).filter(execution=execution)}
    [image_id] = steps["draw"]["assets"]
    assert MediaAsset.objects.for_tenant(acme).get(pk=image_id).content_type == "image/png"
    assert steps["listen"] == {
        "media": audio.pk, "text": "hello from the fake transcriber", "language": "english", "duration": 90.0,
        "cost": "0.0090000000",
    }  # fmt: skip
    assert fake_llm.requests[0].body["prompt"] == "A boat"
    usage = LLMUsage.objects.for_tenant(acme).filter(execution_id=execution.id).order_by("created_at")
    assert [(u.operation, u.node_id, u.scope) for u in usage] == [
        ("image", "draw", "workflow"),
        ("transcription", "listen", "workflow"),
    ]
