"""Safe rendering of tenant-written templates (e-mail fields, webhook URLs and bodies, record fields).

Jinja2 in an immutable sandbox with `StrictUndefined` (a missing variable is an error naming it).
Tenant text never goes through `str.format` or printf-style `%`, nor the `format` filter. `random`
and `lipsum` are gone so a replay renders the same text. `a.b` on a mapping reads the key first.

Rendering runs inside Temporal workflow tasks (no threads, signals or clocks; over 2 s trips the
deadlock detector), so the *work* is bounded rather than the time. Templates are instrumented when
compiled: every loop iteration, call, operator, filter and emitted chunk spends a step; every value
built (`~`, `+`, `*`, filter and call results, list/dict literals) is weighed in items plus
characters and refused over `MAX_VALUE_WEIGHT`, so nothing can double its way to gigabytes;
everything emitted, even into `{% set %}` blocks and macros, counts towards `MAX_EMITTED_CHARS`;
`range` is capped; and filters or methods whose arguments alone could allocate without bound
(`center`, `indent`, `batch`, `slice`, `str.ljust`, `int.to_bytes`...) are unavailable.
A Temporal workflow imports this module inside `workflow.unsafe.imports_passed_through()`.
"""

import functools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_TEMPLATE_CHARS = 50_000
MAX_OUTPUT_CHARS = 100_000
MAX_EMITTED_CHARS = 1_000_000
MAX_VALUE_WEIGHT = 1_000_000
MAX_RENDER_STEPS = 100_000
MAX_RANGE = 10_000
MAX_INT_BITS = 4_096

_REMOVED_FILTERS = frozenset({"random", "format", "center", "indent", "wordwrap", "batch", "slice"})
_STR_METHODS = frozenset(
    "capitalize casefold count endswith find index isalnum isalpha isdecimal isdigit islower isnumeric "
    "isspace istitle isupper join lower lstrip partition removeprefix removesuffix rfind rindex rpartition "
    "rsplit rstrip split splitlines startswith strip swapcase title upper".split()
)


class TemplateError(ValueError):
    """A template that does not compile, or that fails or exceeds its limits when rendered."""


@dataclass
class _Budget:
    steps: int = MAX_RENDER_STEPS
    emitted: int = MAX_EMITTED_CHARS


# Per render, not per environment: several workflow tasks may render on different threads.
_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _spend(steps: int = 1, chars: int = 0) -> None:
    if (budget := _budget.get()) is None:
        return
    budget.steps -= steps
    budget.emitted -= chars
    if budget.steps < 0:
        raise TemplateError(f"the template took more than {MAX_RENDER_STEPS} steps to render")
    if budget.emitted < 0:
        raise TemplateError(f"the template produced more than {MAX_EMITTED_CHARS} characters")


def _weigh(value: Any) -> Any:
    """Return `value` unchanged unless it is too large to keep building on.

    The weight is items plus characters, shared parts counted each time they appear. The walk
    stops at the limit and is charged to the budget (a step per 4 items or 4,096 characters), so
    weighing large data costs what it weighs.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateError(f"a number in the template is larger than {MAX_INT_BITS} bits")
    weight, items, stack = 0, 0, [value]
    while stack and weight <= MAX_VALUE_WEIGHT:
        item = stack.pop()
        items += 1
        weight += len(item) + 1 if isinstance(item, str) else 1
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    _spend(1 + items // 4 + weight // 4096)
    if weight > MAX_VALUE_WEIGHT:
        raise TemplateError(f"a value in the template is larger than {MAX_VALUE_WEIGHT} characters or items")
    return value


def _bounded_range(*args: int) -> range:
    if len(numbers := range(*args)) > MAX_RANGE:
        raise TemplateError(f"range() is limited to {MAX_RANGE} items")
    return numbers


def _replace_size(value: object, old: object, new: object, *_: object) -> int:
    value, old = str(value), str(old)
    return len(value) + (value.count(old) if old else len(value) + 1) * len(str(new))


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a built-in filter to weigh its result (and check `replace` first); because the wrapper
    takes the context, Jinja never runs it at compile time to fold constants."""

    @pass_context
    @functools.wraps(function)
    def guarded(context: Context, *args: Any, **kwargs: Any) -> Any:
        if name == "replace" and len(args) >= 3 and _replace_size(*args) > MAX_VALUE_WEIGHT:
            raise TemplateError(f"replace() would build more than {MAX_VALUE_WEIGHT} characters")
        return _weigh(context.call(function, *args, **kwargs))  # passes the context/env the filter asks for

    return guarded


@pass_context
def _iterate(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _spend()
        yield item


@pass_context
def _value(context: Context, value: Any) -> Any:
    return _weigh(value)


@pass_context
def _emit(context: Context, value: Any) -> Any:
    _spend(chars=len(str(_weigh(value))))
    return value


def _internal(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Instrument(NodeTransformer):
    """Route loop iterables, built values and emitted output through the budget filters."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = _internal(node.iter, "_mono_iterate")
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        node = self.generic_visit(node)
        node.nodes = [
            _internal(nodes.MarkSafeIfAutoescape(nodes.Const(child.data), lineno=child.lineno), "_mono_emit")
            if isinstance(child, nodes.TemplateData)
            else _internal(child, "_mono_emit")
            for child in node.nodes
        ]
        return node

    def _refuse(self, node: nodes.Node) -> nodes.Node:
        raise TemplateSyntaxError("a template cannot extend, include or import another template", node.lineno)

    visit_Extends = visit_Include = visit_Import = visit_FromImport = _refuse

    def _weighed(self, node: nodes.Expr) -> nodes.Node:
        return _internal(self.generic_visit(node), "_mono_value")

    visit_Concat = visit_List = visit_Dict = _weighed

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._weighed(node) if node.ctx == "load" else self.generic_visit(node)  # else `for k, v` target


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable Jinja sandbox, with every operator and call budgeted and size-checked."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True)
        self.filters = {
            name: _guard_filter(name, function)
            for name, function in self.filters.items()
            if name not in _REMOVED_FILTERS
        }
        self.filters.update(_mono_iterate=_iterate, _mono_value=_value, _mono_emit=_emit)
        self.globals.pop("lipsum", None)
        self.globals["range"] = _bounded_range

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # The one hook between parsing and code generation (private, so Jinja is pinned and tested).
        return _Instrument().visit(super()._parse(source, name, filename))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("printf-style % formatting is not allowed in templates")
        if operator == "*" and isinstance(left, str | list | tuple) != isinstance(right, str | list | tuple):
            size, times = (len(left), right) if isinstance(left, str | list | tuple) else (len(right), left)
            if isinstance(times, int) and size * times > MAX_VALUE_WEIGHT:
                raise TemplateError(f"repetition would build more than {MAX_VALUE_WEIGHT} characters or items")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if max(left.bit_length(), 1) * right > MAX_INT_BITS:
                raise TemplateError(f"a number in the template is larger than {MAX_INT_BITS} bits")
        return _weigh(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        return _weigh(super().call(__context, __obj, *args, **kwargs))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str | int | float):  # numbers: no methods at all (think int.to_bytes)
            return isinstance(obj, str) and attr in _STR_METHODS
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        return None  # Jinja would hand back a sandboxed str.format; tenant text is never formatted.

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


_FAILURES = ((UndefinedError, "undefined variable"), (SecurityError, "not allowed"), (RecursionError, "too deep"))
_ENVIRONMENTS = {False: _Sandbox(autoescape=False), True: _Sandbox(autoescape=True)}


def _real_jinja() -> AbstractContextManager[None]:
    """In a Temporal workflow, let Jinja's lazy imports (`jinja2.runtime` in compiled templates,
    `jinja2.debug` on errors) reach the loaded modules: the sandbox would re-import Jinja and fail."""
    workflow = sys.modules.get("temporalio.workflow")
    return workflow.unsafe.imports_passed_through() if workflow else nullcontext()


@functools.lru_cache(maxsize=512)
def _compile(source: str, autoescape: bool) -> Any:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"the template is longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        with _real_jinja():
            return _ENVIRONMENTS[autoescape].from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    except RecursionError:  # the parser recurses once per bracket
        raise TemplateError("the template is nested too deeply") from None


def check(template: object) -> str | None:
    """The reason a template does not compile, or None when it does."""
    if not isinstance(template, str):
        return "a template must be a string"
    try:
        _compile(template, False)
    except TemplateError as exc:
        return str(exc)
    return None


def render(template: str, variables: Mapping[str, Any], *, autoescape: bool = False) -> str:
    """Render a template as plain text; raise TemplateError on any failure or exceeded limit."""
    if not isinstance(template, str):
        raise TemplateError("a template must be a string")
    if "{" not in template and len(template) <= MAX_OUTPUT_CHARS:
        return template
    compiled = _compile(template, autoescape)
    token = _budget.set(_Budget())
    try:
        chunks, size = [], 0
        with _real_jinja():
            for chunk in compiled.generate(dict(variables)):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateError(f"the output is longer than {MAX_OUTPUT_CHARS} characters")
                chunks.append(chunk)
        return "".join(chunks)
    except TemplateError:
        raise
    except Exception as exc:  # template code can raise anything; callers only ever see TemplateError
        kind = next((text for error, text in _FAILURES if isinstance(exc, error)), f"failed ({type(exc).__name__})")
        raise TemplateError(f"{kind}: {exc}") from None
    finally:
        _budget.reset(token)


def render_html(template: str, variables: Mapping[str, Any]) -> str:
    """Render a template for an HTML body: variables are escaped unless marked safe."""
    return render(template, variables, autoescape=True)


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside nested dicts and lists (keys are left alone); other values pass through."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, Mapping):
        return {key: render_value(item, variables) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(item, variables) for item in value]
    return value
