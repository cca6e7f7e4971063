"""The layout keeps its floors: imports point down, workflow code stays pure, apps never loop.

Imports are read with `ast`, so nothing here imports the code it checks. `import_graph()` and
`app_cycles()` are plain functions that take a tree, so the tests below also show that an
import added back in the wrong direction is caught.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("mono", "tenants", "audit", "workflows", "llm", "webhooks", "jobs", "maintenance", "console")
# mono/ names apps only where Django wires them together by dotted path.
MONO_WIRING = {"mono/urls.py", "mono/asgi.py", "mono/settings.py"}
# What a Temporal workflow module may import: the SDK, the standard library, and pure modules.
PURE_MODULES = ("mono.kernel", "workflows.graph")


def _modules(root: Path) -> Iterator[tuple[str, Path]]:
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(root).as_posix(), path


def imported_modules(source: str) -> list[str]:
    """Every absolute module a source file imports, at any depth (function bodies included)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph(files: dict[str, str]) -> dict[str, set[str]]:
    """Top-level app -> the other apps its files import."""
    graph: dict[str, set[str]] = {app: set() for app in APPS}
    for rel, source in files.items():
        if rel in MONO_WIRING:
            continue
        app = rel.split("/", 1)[0]
        for name in imported_modules(source):
            target = name.split(".", 1)[0]
            if target in APPS and target != app:
                graph[app].add(target)
    return graph


def app_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle between apps, as the path that closes it."""
    cycles, state = [], {}

    def visit(app: str, path: list[str]) -> None:
        state[app] = "open"
        for target in sorted(graph.get(app, ())):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[app] = "done"

    for app in sorted(graph):
        if app not in state:
            visit(app, [app])
    return cycles


def _tree() -> dict[str, str]:
    return {rel: path.read_text() for rel, path in _modules(ROOT)}


def _mono_reaches_apps(files: dict[str, str]) -> list[str]:
    return [
        f"{rel} imports {name}"
        for rel, source in files.items()
        if rel.startswith("mono/") and rel not in MONO_WIRING
        for name in imported_modules(source)
        if name.split(".", 1)[0] in APPS and name.split(".", 1)[0] != "mono"
    ]


def _impure_workflow_imports(files: dict[str, str]) -> list[str]:
    problems = []
    for rel, source in files.items():
        if not rel.endswith("/temporal/workflows.py"):
            continue
        own = rel.removesuffix("workflows.py").replace("/", ".")  # e.g. "workflows.temporal."
        for name in imported_modules(source):
            if not _pure_for_workflows(name, own, files):
                problems.append(f"{rel} imports {name}")
    return problems


def _pure_for_workflows(name: str, own: str, files: dict[str, str]) -> bool:
    """temporalio, the standard library, the kernel and the graph package, the workflow's own types
    and activities (passed through the sandbox), and a module of its own package that is itself pure."""
    root = name.split(".", 1)[0]
    if root not in (*APPS, "django", "rest_framework", "channels") or name.startswith(PURE_MODULES):
        return True
    if name.startswith((own + "types", own + "activities")):
        return True
    path = name.replace(".", "/")
    sibling = files.get(f"{path}.py", files.get(f"{path}/__init__.py")) if (name + ".").startswith(own) else None
    return sibling is not None and all(_pure_for_workflows(imported, own, {}) for imported in imported_modules(sibling))


def test_no_cycle_between_apps():
    assert app_cycles(import_graph(_tree())) == []


def test_mono_imports_no_app_outside_url_and_asgi_wiring():
    assert _mono_reaches_apps(_tree()) == []


def test_workflow_modules_import_only_pure_code():
    assert _impure_workflow_imports(_tree()) == []


def test_kernel_imports_no_django():
    kernel = {rel: source for rel, source in _tree().items() if rel.startswith("mono/kernel/")}
    assert kernel, "the kernel package is missing"
    assert [
        f"{rel} imports {name}"
        for rel, source in kernel.items()
        for name in imported_modules(source)
        if name.split(".", 1)[0] in ("django", "rest_framework", "channels", *APPS)
        and not name.startswith("mono.kernel")
    ] == []


@pytest.mark.parametrize(
    ("rel", "added", "check"),
    [
        ("tenants/services.py", "from workflows.models import WorkflowExecution\n", "cycle"),
        ("mono/temporal/client.py", "from tenants.models import Tenant\n", "mono"),
        ("mono/metrics.py", "def f():\n    from llm.models import LlmUsage\n", "mono"),
        ("workflows/temporal/workflows.py", "from django.db import models\n", "workflow"),
        ("llm/temporal/workflows.py", "from llm.services import gateway_execute\n", "workflow"),
    ],
)
def test_an_import_added_back_in_the_wrong_direction_is_caught(rel, added, check):
    files = _tree()
    files[rel] = files[rel] + "\n" + added
    found = {
        "cycle": lambda: app_cycles(import_graph(files)),
        "mono": lambda: _mono_reaches_apps(files),
        "workflow": lambda: _impure_workflow_imports(files),
    }[check]()
    assert found, f"adding {added!r} to {rel} went unnoticed"
