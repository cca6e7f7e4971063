"""The docker-compose stack, its Dockerfile and the Prometheus config agree with the project.

Pure file checks: nothing is built or started, and no database is used.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus.yml"
SETTINGS_FILE = ROOT / "mono" / "settings.py"

SERVICES = (
    "postgres",
    "temporal",
    "temporal-ui",
    "redis",
    "migrate",
    "web",
    "workers",
    "prometheus",
    "grafana",
)
MONO_SERVICES = ("migrate", "web", "workers")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_names(environment) -> set[str]:
    """Variable names of a compose `environment`, in either its mapping or its list form."""
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment}


def depends_on_names(depends_on) -> set[str]:
    return set(depends_on) if isinstance(depends_on, dict | list) else set()


def host_mount_sources(service: dict) -> list[str]:
    """Bind-mount sources on the host (relative paths), in short or long volume syntax."""
    sources = []
    for volume in service.get("volumes", []):
        source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":", 1)[0]
        if source.startswith("."):
            sources.append(source)
    return sources


def build_dockerfile(build) -> Path:
    if isinstance(build, str):
        return ROOT / build / "Dockerfile"
    return ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def settings_env_names() -> set[str]:
    return set(re.findall(r"\benv\.\w+\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS_FILE.read_text()))


def test_every_service_of_the_stack_is_defined(services):
    assert set(SERVICES) <= set(services)


@pytest.mark.parametrize("name", ["web", "workers"])
def test_web_and_workers_build_from_the_project_dockerfile(services, name):
    assert build_dockerfile(services[name]["build"]).resolve() == DOCKERFILE


def test_web_and_workers_share_the_mono_environment_anchor(compose, services):
    shared = compose["x-mono-env"]
    assert services["web"]["environment"] == shared
    assert services["workers"]["environment"] == shared


def test_mono_environment_points_at_the_stack_services(compose):
    shared = compose["x-mono-env"]
    assert shared["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in shared["DATABASE_URL"]
    assert shared["REDIS_URL"].startswith("redis://redis:6379")
    assert shared["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert shared["SECRET_KEY"]


def test_temporal_persists_to_postgresql(services):
    environment = services["temporal"]["environment"]
    assert environment["DB"].startswith("postgres")
    assert environment["POSTGRES_SEEDS"] == "postgres"
    assert "postgres" in depends_on_names(services["temporal"].get("depends_on"))


def test_temporal_ui_publishes_port_8080(services):
    assert "8080:8080" in [str(port) for port in services["temporal-ui"]["ports"]]


def test_every_depends_on_target_is_a_defined_service(services):
    missing = {
        (name, target)
        for name, service in services.items()
        for target in depends_on_names(service.get("depends_on"))
        if target not in services
    }
    assert not missing


def test_mono_services_set_only_variables_that_settings_reads(services):
    read = settings_env_names()
    assert "DATABASE_URL" in read, "could not parse the variables mono/settings.py reads"
    unknown = {
        (name, variable)
        for name in MONO_SERVICES
        for variable in env_names(services[name].get("environment", {}))
        if variable not in read
    }
    assert not unknown


def test_every_host_file_mounted_exists_in_the_repo(services):
    sources = [source for service in services.values() for source in host_mount_sources(service)]
    assert sources, "no host files are mounted"
    assert [source for source in sources if not (ROOT / source).exists()] == []


def test_dockerfile_default_command_serves_the_asgi_application():
    commands = [line for line in DOCKERFILE.read_text().splitlines() if line.strip().startswith("CMD")]
    assert commands, "the Dockerfile has no CMD"
    assert "mono.asgi:application" in commands[-1]


def test_prometheus_scrapes_web_workers_and_temporal():
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert {"web:8000", "workers:9464", "temporal:9090"} <= targets
