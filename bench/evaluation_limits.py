"""What bounded evaluation costs: the interpreter's workflow CPU with and without the limits.

The limits (CEL step budget, value weights and charged calls; the template sandbox's allow-lists,
instrumented loops, weighed values and charged filters) run in workflow code, so their cost is
paid again at every replay. Two measurements, each in this one process, alternating the two sides
in ABBA order so a drift falls evenly on both:

1. Replay: the recorded interpreter histories (`tests/workflows/histories/`, decisions, templates,
   approvals and waits) are replayed offline with temporalio's `Replayer` (sandbox on, no server,
   no activities). "without" swaps, for its passes, the kernel's `compile_condition`, `render` and
   `render_value` for evaluation without the limits: the kernel's parsed condition and variable
   conversion walked by celpy's own evaluator, and a plain immutable Jinja sandbox (StrictUndefined).
   The process CPU time per replayed history is shown, and the ratio.
2. Per evaluation: typical Decision conditions and node templates, evaluated over a run's
   variables (a few steps of output, a 50-item list), limited and plain, CPU time per evaluation.

The target is a replay overhead under 10%. Figures are printed, not asserted. From the project root:

    .venv/bin/python bench/evaluation_limits.py [--passes 4] [--replays 20] [--evaluations 2000]
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # run as a script from anywhere: the project is importable

CONDITIONS = [
    "input.amount > 100",
    "input.customer.tier == 'gold' && input.amount >= 50.5",
    "steps.score.result.value > 7 || input.tags.exists(t, t == 'vip')",
    "size(input.lines) > 3 && input.lines.all(i, i.qty > 0)",
    "input.email.endsWith('@example.com') && !has(input.coupon)",
]
TEMPLATES = [
    "Hello {{ input.customer.name }}, your order {{ input.order_id }} is confirmed.",
    "{{ input.customer.name|upper }} ordered {{ input.lines|length }} items",
    "{% for item in input.lines %}{{ item.sku }} x{{ item.qty }}\n{% endfor %}Total: {{ input.amount }}",
    "{{ input.lines|map(attribute='sku')|join(', ') }}",
    "{% if input.amount > 100 %}high{% else %}low{% endif %}: {{ steps.score.result|tojson }}",
]


def _variables() -> dict:
    from mono.kernel.expressions import run_context

    items = [{"sku": f"SKU-{i}", "qty": i % 5 + 1, "price": i * 1.5} for i in range(50)]
    run_input = {
        "amount": 150.5,
        "order_id": "A-1001",
        "email": "ada@example.com",
        "tags": ["new", "vip"],
        "customer": {"name": "Ada", "tier": "gold"},
        "lines": items,
    }
    return run_context(run_input, {"score": {"result": {"value": 8, "label": "good"}}})


class _Plain:
    """The evaluation a user would otherwise run: plain celpy and a plain immutable Jinja sandbox."""

    def __init__(self) -> None:
        import celpy
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        from mono.kernel.templating import _real_jinja

        self.celpy = celpy
        self.real_jinja = _real_jinja  # taken here: an import inside workflow code would load a sandboxed copy
        self.environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
        from celpy.evaluation import Activation, Evaluator

        from mono.kernel import expressions

        self.expressions, self.Activation, self.Evaluator = expressions, Activation, Evaluator
        self.parse = expressions.compile_condition  # kept: the swap replaces the module's entry point
        comparisons = ("_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_")
        self.operators = {op: expressions._mixed_numeric(op) for op in comparisons}  # as before the limits
        self.templates: dict = {}

    def compile_condition(self, text: str):
        """The kernel's parsed and checked condition (same AST, same variable conversion), walked by
        celpy's own evaluator: no step budget, no weights, no charged functions."""
        plain = self

        class Condition:
            def evaluate(self, variables, *, field=None):
                compiled = plain.parse(text)
                values = {
                    name: plain.expressions._to_cel(value, [10**9])
                    for name, value in variables.items()
                    if name in compiled.names
                }
                activation = plain.Activation(annotations=plain.celpy.googleapis, functions=plain.operators)
                return bool(plain.Evaluator(compiled.ast, activation).evaluate(values))

        return Condition()

    def render(self, template: str, variables, *, autoescape: bool = False, field=None) -> str:
        with self.real_jinja():  # Jinja imports lazily; inside the sandbox that must reach the loaded modules
            compiled = self.templates.get(template)
            if compiled is None:
                compiled = self.templates[template] = self.environment.from_string(template)
            return compiled.render(dict(variables))

    def render_value(self, value, variables, *, field=None):
        if isinstance(value, str):
            return self.render(value, variables)
        if isinstance(value, dict):
            return {key: self.render_value(item, variables) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.render_value(item, variables) for item in value]
        return value


class _Swap:
    """Within `with`, the kernel's evaluation entry points are the plain ones (or left as they are)."""

    def __init__(self, plain: _Plain | None) -> None:
        self.plain = plain
        self.saved: list = []

    def __enter__(self):
        from mono.kernel import expressions, templating

        if self.plain is not None:
            for module, name in (
                (expressions, "compile_condition"),
                (templating, "render"),
                (templating, "render_value"),
            ):
                self.saved.append((module, name, getattr(module, name)))
                setattr(module, name, getattr(self.plain, name))
        return self

    def __exit__(self, *exc):
        for module, name, original in self.saved:
            setattr(module, name, original)


def _replay_pass(histories, replays: int) -> float:
    from temporalio.worker import Replayer

    from workflows.temporal.workflows import InterpreterWorkflow

    async def run() -> None:
        replayer = Replayer(workflows=[InterpreterWorkflow])
        for _ in range(replays):
            for history in histories:
                result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
                if result.replay_failure:
                    raise SystemExit(f"{history.workflow_id} does not replay: {result.replay_failure}")

    started = time.process_time()
    asyncio.run(run())
    return (time.process_time() - started) / (replays * len(histories))


def _evaluation_pass(plain: _Plain | None, variables: dict, evaluations: int) -> float:
    from mono.kernel import expressions, templating

    compile_condition = plain.compile_condition if plain else expressions.compile_condition
    render = plain.render if plain else templating.render
    started = time.process_time()
    for index in range(evaluations):
        compile_condition(CONDITIONS[index % len(CONDITIONS)]).evaluate(variables, field="condition")
        render(TEMPLATES[index % len(TEMPLATES)], variables, field="body")
    return (time.process_time() - started) / evaluations


def _abba(passes: int, measure) -> tuple[list[float], list[float]]:
    limited: list[float] = []
    unlimited: list[float] = []
    for index in range(passes):
        for side in (
            ("limited", "plain", "plain", "limited") if index % 2 == 0 else ("plain", "limited", "limited", "plain")
        ):
            (limited if side == "limited" else unlimited).append(measure(side == "limited"))
    return limited, unlimited


def _report(title: str, limited: list[float], unlimited: list[float]) -> None:
    with_limits, without = statistics.median(limited), statistics.median(unlimited)
    print(f"{title}")
    print(f"  with limits    median {with_limits * 1e6:9.1f} µs CPU   passes {[round(v * 1e6, 1) for v in limited]}")
    print(f"  without limits median {without * 1e6:9.1f} µs CPU   passes {[round(v * 1e6, 1) for v in unlimited]}")
    print(f"  overhead {100 * (with_limits / without - 1):+.1f}%  (ratio {with_limits / without:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=4, help="ABBA groups (each runs both sides twice)")
    parser.add_argument("--replays", type=int, default=20, help="replays of every history per pass")
    parser.add_argument("--evaluations", type=int, default=2000, help="conditions + templates per pass")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mono.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")  # never connected to
    import django

    django.setup()
    from temporalio.client import WorkflowHistory

    folder = Path(ROOT) / "tests" / "workflows" / "histories"
    histories = [WorkflowHistory.from_json(path.stem, path.read_text()) for path in sorted(folder.glob("*.json"))]
    plain, variables = _Plain(), _variables()

    for text in CONDITIONS:  # both sides agree before anything is timed
        assert plain.compile_condition(text).evaluate(variables) == __import__(
            "mono.kernel.expressions", fromlist=["x"]
        ).compile_condition(text).evaluate(variables), text

    def replay(limited: bool) -> float:
        with _Swap(None if limited else plain):
            return _replay_pass(histories, args.replays)

    def evaluate(limited: bool) -> float:
        return _evaluation_pass(None if limited else plain, variables, args.evaluations)

    replay(True), replay(False), evaluate(True), evaluate(False)  # warm-up: imports, caches, sandbox
    print(f"{len(histories)} recorded histories x {args.replays} replays per pass, {args.passes} ABBA groups")
    _report("1. replay CPU per history", *_abba(args.passes, replay))
    print(f"{len(CONDITIONS)} conditions and {len(TEMPLATES)} templates, {args.evaluations} of each per pass")
    _report("2. CPU per evaluation (one condition + one template)", *_abba(args.passes, evaluate))


if __name__ == "__main__":
    main()
