"""The docker-compose stack, its Dockerfile and the Prometheus config agree with the project.

Pure file checks: nothing is built or started, and no database is used.
"""

import json
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
    for name in ("web", "workers", "relay"):
        own = {key: value for key, value in services[name]["environment"].items() if key not in shared}
        assert {key: services[name]["environment"][key] for key in shared} == shared
        assert set(own) == {"DATABASE_POOL_MAX_SIZE"}  # each process sizes its own pool


def test_mono_connections_fit_postgres_default_max_connections(services):
    pools = sum(int(services[name]["environment"]["DATABASE_POOL_MAX_SIZE"]) for name in ("web", "workers", "relay"))
    assert pools + 1 <= 100 * 0.6  # the one-shot migrate step holds one; room to spare under the default 100


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


def test_temporal_ui_is_published_on_loopback_only_and_decodes_through_mono(services):
    ui = services["temporal-ui"]
    assert [str(port) for port in ui["ports"]] == ["127.0.0.1:8080:8080"]
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"].endswith("/temporal-codec}")


def test_temporal_grpc_is_not_published_to_the_host(services):
    assert "ports" not in services["temporal"]


def test_mono_processes_need_the_payload_master_key(compose):
    assert compose["x-mono-env"]["PAYLOAD_MASTER_KEY"].startswith("${PAYLOAD_MASTER_KEY:?")


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


# Grafana dashboards --------------------------------------------------------------------------

GRAFANA_PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
DASHBOARD_FILES = sorted((GRAFANA_PROVISIONING / "dashboards").glob("*.json"))
DASHBOARD_UIDS = {"mono-platform-overview", "mono-tenant-executions", "mono-llm-usage", "mono-queues-workers"}
PROMETHEUS_DATASOURCE_UID = "prometheus"
# Metrics not defined in mono/metrics.py that dashboards may query: the Temporal SDK's worker
# metrics, django-prometheus, prometheus_client's process collector, and Prometheus's own `up`.
FOREIGN_METRIC_PREFIXES = ("temporal_", "django_http_", "process_")
FOREIGN_METRICS = {"up"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def dashboards() -> list[dict]:
    return [json.loads(path.read_text()) for path in DASHBOARD_FILES]


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows; rows themselves excluded."""
    found = []
    for panel in dashboard["panels"]:
        found.extend(panels({"panels": panel.get("panels", [])}))
        if panel["type"] != "row":
            found.append(panel)
    return found


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a tokenizer good enough for our dashboards)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\w+", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if match.group() not in PROMQL_WORDS and not expr[match.end() :].lstrip().startswith("("):
            names.add(match.group())
    return names


def queried_metric_names(dashboard: dict) -> set[str]:
    names = {
        name
        for panel in panels(dashboard)
        for target in panel["targets"]
        for name in promql_metric_names(target["expr"])
    }
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        label_values = re.match(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)", query)
        names |= {label_values.group(1)} if label_values else promql_metric_names(query)
    return names


def mono_metric_names() -> set[str]:
    """The sample names mono/metrics.py exports (`_total`, `_bucket`, ... included)."""
    from mono.metrics import METRICS

    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
    return {
        family.name + suffix for metric in METRICS for family in metric.describe() for suffix in suffixes[family.type]
    }


def test_promql_metric_names_finds_selected_metrics_only():
    expr = 'histogram_quantile(0.95, sum by (le, queue) (rate(a_bucket{queue=~"$queue"}[$__rate_interval]))) / b'
    assert promql_metric_names(expr) == {"a_bucket", "b"}


def test_grafana_provisions_the_dashboards_folder_it_has_mounted(services):
    providers = yaml.safe_load((GRAFANA_PROVISIONING / "dashboards" / "mono.yml").read_text())["providers"]
    mounts = {
        volume.split(":")[1]: volume.split(":")[0]
        for volume in services["grafana"]["volumes"]
        if volume.startswith(".")
    }
    for provider in providers:
        container_path = provider["options"]["path"]
        mount = next(target for target in mounts if container_path.startswith(target))
        host_path = ROOT / mounts[mount] / container_path.removeprefix(mount).lstrip("/")
        assert {path.name for path in host_path.glob("*.json")} == {path.name for path in DASHBOARD_FILES}


def test_grafana_datasource_uid_is_the_one_dashboards_use():
    config = yaml.safe_load((GRAFANA_PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert [source["uid"] for source in config["datasources"]] == [PROMETHEUS_DATASOURCE_UID]


def test_every_dashboard_is_provisioned_once_under_its_uid():
    uids = [dashboard["uid"] for dashboard in dashboards()]
    assert sorted(uids) == sorted(DASHBOARD_UIDS)
    assert {path.stem for path in DASHBOARD_FILES} == DASHBOARD_UIDS


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.stem)
def test_dashboard_is_loadable_grafana_json(path):
    dashboard = json.loads(path.read_text())
    assert dashboard["title"] and dashboard["panels"]
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] == PROMETHEUS_DATASOURCE_UID, panel["title"]
        assert panel["targets"], panel["title"]
        assert 0 <= panel["gridPos"]["x"] and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            assert target["refId"] and target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == PROMETHEUS_DATASOURCE_UID, panel["title"]
    for variable in dashboard.get("templating", {}).get("list", []):
        assert variable["datasource"]["uid"] == PROMETHEUS_DATASOURCE_UID, variable["name"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.stem)
def test_dashboard_queries_only_metrics_the_stack_exports(path):
    queried = queried_metric_names(json.loads(path.read_text()))
    assert queried
    unknown = {
        name
        for name in queried
        if name not in mono_metric_names()
        and name not in FOREIGN_METRICS
        and not name.startswith(FOREIGN_METRIC_PREFIXES)
    }
    assert unknown == set()


def test_dashboards_chart_every_business_metric():
    queried = set().union(*(queried_metric_names(dashboard) for dashboard in dashboards()))
    charted = {name.removesuffix(suffix) for name in queried for suffix in ("_total", "_bucket", "_count", "_sum")}
    from mono.metrics import METRICS

    assert {family.name for metric in METRICS for family in metric.describe()} - charted == set()


def test_prometheus_scrapes_both_worker_ports_named_in_the_compose_environment(compose):
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    targets = {
        target for job in config["scrape_configs"] for static in job["static_configs"] for target in static["targets"]
    }
    shared = compose["x-mono-env"]
    assert f"workers:{shared['TEMPORAL_WORKER_HEALTH_PORT']}" in targets
    assert f"workers:{shared['TEMPORAL_WORKER_SDK_METRICS_PORT']}" in targets


def test_prometheus_labels_sdk_task_queues_with_the_queue_key_dashboards_use():
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    (sdk_job,) = [job for job in config["scrape_configs"] if job["job_name"] == "workers-sdk"]
    (rule,) = sdk_job["metric_relabel_configs"]
    assert (rule["source_labels"], rule["target_label"]) == (["task_queue"], "queue")
    pattern = re.compile(rule["regex"])  # Prometheus anchors relabel regexes
    assert pattern.fullmatch("tenant-42-send-email").expand(rule["replacement"].replace("$1", r"\1")) == "send-email"
    assert pattern.fullmatch("workflows").expand(r"\1") == "workflows"


def test_prometheus_scrapes_mono_metrics_with_the_token_compose_gives_it(compose, services):
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    secret_files = {f"/run/secrets/{name}" for name in services["prometheus"].get("secrets", [])}
    for name in ("web", "workers"):
        authorization = jobs[name]["authorization"]
        assert authorization["type"] == "Bearer"
        assert authorization["credentials_file"] in secret_files
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert "METRICS_TOKEN" in compose["x-mono-env"]
