"""Safe rendering of tenant-written templates (e-mail fields, webhook URLs and bodies, record fields).

Jinja2 in an immutable sandbox with `StrictUndefined` (a missing variable is an error naming it).
Tenant text never goes through `str.format` or printf-style `%`, nor the `format` filter. `random`
and `lipsum` are gone so a replay renders the same text. `a.b` on a mapping reads the key first.

Rendering runs inside Temporal workflow tasks, on shared activity threads and in the web process
(no threads, signals or clocks; over 2 s trips the deadlock detector), so the *work* is bounded
rather than the time, by counting, so a replay fails at the same point:

- steps: every loop iteration spends as many steps as its body has nodes, every macro call as many
  as the macro has; every call, operator, filter and emitted chunk spends one more;
- size: every value built (`~`, `+`, `*`, filter and call results, list/dict literals) is weighed in
  items plus characters and refused over `MAX_VALUE_WEIGHT`, and `~`, `*`, `join` and `replace` are
  refused *before* they build something too large, so nothing can double its way to gigabytes;
- input: a filter or call also pays for what it reads (a step per 4 items or 4,096 characters, and
  far more for filters that loop in Python per character, see `FILTER_CHARS_PER_STEP`), so one
  step over a huge value costs what it costs: `('<>' * 499999)|striptags` in a loop stops at once;
- output: everything emitted, even into `{% set %}` blocks and macros, counts towards
  `MAX_EMITTED_CHARS`, and the result is capped at `MAX_OUTPUT_CHARS`; `range` is capped.

What a template may use is an allow-list: the filters in `ALLOWED_FILTERS` (Jinja's own minus
`random`, `format`, `center`, `indent`, `wordwrap`, `batch`, `slice`, `pprint` and `urlize`, whose
output or time one argument can blow up; `sum` takes numbers only, `tojson` a small indent and
`trim` a short set of characters), the tests in `ALLOWED_TESTS`, the globals `range`, `dict`,
`namespace`, `cycler` and `joiner`, and the string methods in `_STR_METHODS` (numbers have none).
Tenant text never goes through `str.format` or printf-style `%`. `a.b` on a mapping reads the key
first. A Temporal workflow imports this module inside `workflow.unsafe.imports_passed_through()`.
"""

import functools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes, pass_context, pass_environment
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_TEMPLATE_CHARS = 50_000
MAX_OUTPUT_CHARS = 100_000
MAX_EMITTED_CHARS = 1_000_000
MAX_VALUE_WEIGHT = 1_000_000
MAX_RENDER_STEPS = 100_000
MAX_RANGE = 10_000
MAX_INT_BITS = 4_096

MAX_STRIP_CHARS = 64
MAX_JSON_INDENT = 8

ALLOWED_FILTERS = frozenset(
    "abs attr capitalize count d default dictsort e escape filesizeformat first float forceescape groupby int "
    "items join last length list lower map max min reject rejectattr replace reverse round safe select "
    "selectattr sort string striptags sum title tojson trim truncate unique upper urlencode wordcount "
    "xmlattr".split()
)
ALLOWED_TESTS = frozenset(
    "!= < <= == > >= boolean defined divisibleby eq equalto escaped even false filter float ge greaterthan gt "
    "in integer iterable le lessthan lower lt mapping ne none number odd sameas sequence string test true "
    "undefined upper".split()
)
ALLOWED_GLOBALS = frozenset({"range", "dict", "namespace", "cycler", "joiner"})
# Filters whose work per input character is a Python-level loop (measured: striptags on `<>` pairs
# costs about as much per character as a render step): each pays a step per this many characters.
FILTER_CHARS_PER_STEP = {"striptags": 2, "title": 8, "urlencode": 16, "xmlattr": 16, "wordcount": 32, "tojson": 64}
_STR_METHODS = frozenset(
    "capitalize casefold count endswith find index isalnum isalpha isdecimal isdigit islower isnumeric "
    "isspace istitle isupper join lower lstrip partition removeprefix removesuffix rfind rindex rpartition "
    "rsplit rstrip split splitlines startswith strip swapcase title upper".split()
)


class TemplateError(ValueError):
    """A template that does not compile, or that fails or exceeds its limits when rendered.

    `field` names the node field the template came from when the caller gave it (`url`,
    `body.items[0]`); the message then starts with it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


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


def _measure(value: Any) -> tuple[int, int]:
    """(weight, characters) of a value: items plus characters, shared parts counted each time they
    appear. The walk stops past the limit and is charged to the budget (a step per 4 items or 4,096
    characters), so weighing large data costs what it weighs. Iterators are never walked."""
    if isinstance(value, str):  # the common case, without a walk
        _spend(1 + len(value) // 4096)
        return len(value) + 1, len(value)
    weight, items, chars, stack = 0, 0, 0, [value]
    while stack and weight <= MAX_VALUE_WEIGHT:
        item = stack.pop()
        items += 1
        if not items % 4096:  # pay as it goes, so a walk stops as soon as the budget is out
            _spend(1024)
        if isinstance(item, str):
            chars += len(item)
            weight += len(item) + 1
        else:
            weight += 1
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    _spend(1 + items % 4096 // 4 + weight // 4096)
    return weight, chars


def _too_large(what: str = "a value in the template") -> TemplateError:
    return TemplateError(f"{what} is larger than {MAX_VALUE_WEIGHT} characters or items")


def _weigh(value: Any) -> Any:
    """Return `value` unchanged unless it is too large to keep building on."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateError(f"a number in the template is larger than {MAX_INT_BITS} bits")
    if _measure(value)[0] > MAX_VALUE_WEIGHT:
        raise _too_large()
    return value


def _charge_input(args: tuple[Any, ...], kwargs: Mapping[str, Any], chars_per_step: int = 0) -> int:
    """Pay for reading the arguments of a filter or call; return their total weight."""
    total = 0
    for argument in (*args, *kwargs.values()):
        weight, chars = _measure(argument)
        total += weight
        if chars_per_step:
            _spend(chars // chars_per_step)
    return total


def _check_join(separator: object, items: object) -> None:
    """`sep.join(items)` builds `len(sep)` per gap on top of the items: refuse it before it does."""
    if isinstance(items, list | tuple) and isinstance(separator, str):
        if len(separator) * len(items) + _measure(items)[0] > MAX_VALUE_WEIGHT:
            raise _too_large("join() would build a value that")


def _check_strip(chars: object) -> None:
    # str.strip(chars) looks every character up in `chars`: its cost is the product of both lengths.
    if isinstance(chars, str) and len(chars) > MAX_STRIP_CHARS:
        raise TemplateError(f"trim/strip take at most {MAX_STRIP_CHARS} characters to strip")


@pass_environment
def _number_sum(environment: Any, iterable: Iterable[Any], attribute: str | int | None = None, start: Any = 0) -> Any:
    """Jinja's `sum` for numbers only: adding lists or strings copies the total again at each item."""
    if not isinstance(start, int | float) or isinstance(start, bool):
        raise TemplateError("sum() adds numbers only; its start must be a number")
    total = start
    for item in iterable:
        value = environment.getitem(item, attribute) if attribute is not None else item
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TemplateError(f"sum() adds numbers only, not {type(value).__name__}")
        _spend()
        total = _weigh(total + value)
    return total


def _bounded_range(*args: int) -> range:
    if len(numbers := range(*args)) > MAX_RANGE:
        raise TemplateError(f"range() is limited to {MAX_RANGE} items")
    return numbers


def _replace_size(value: object, old: object, new: object, *_: object) -> int:
    value, old = str(value), str(old)
    return len(value) + (value.count(old) if old else len(value) + 1) * len(str(new))


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a built-in filter to pay for its input, check the arguments that could make it blow up,
    and weigh its result; because the wrapper takes the context, Jinja never runs it at compile
    time to fold constants."""
    chars_per_step = FILTER_CHARS_PER_STEP.get(name, 0)

    @pass_context
    @functools.wraps(function)
    def guarded(context: Context, *args: Any, **kwargs: Any) -> Any:
        _charge_input(args, kwargs, chars_per_step)
        if name == "replace" and len(args) >= 3 and _replace_size(*args) > MAX_VALUE_WEIGHT:
            raise TemplateError(f"replace() would build more than {MAX_VALUE_WEIGHT} characters")
        if name == "join" and args:
            _check_join(args[1] if len(args) > 1 else kwargs.get("d", ""), args[0])
        if name == "trim":
            _check_strip(args[1] if len(args) > 1 else kwargs.get("chars"))
        if name == "tojson":
            indent = args[1] if len(args) > 1 else kwargs.get("indent")
            if indent is not None and not (isinstance(indent, int) and 0 <= indent <= MAX_JSON_INDENT):
                raise TemplateError(f"tojson() indents by at most {MAX_JSON_INDENT}")
        return _weigh(context.call(function, *args, **kwargs))  # passes the context/env the filter asks for

    return guarded


@pass_context
def _iterate(context: Context, iterable: Iterable[Any], cost: int = 1) -> Iterator[Any]:
    for item in iterable:
        _spend(cost)
        yield item


@pass_context
def _charge(context: Context, cost: int) -> str:
    _spend(cost)
    return ""


@pass_context
def _concat(context: Context, parts: tuple[Any, ...]) -> Any:
    """`a ~ b ~ ...`: refuse before joining when the parts add up to too much."""
    size = 0
    for part in parts:
        size += _measure(str(part))[0]
        if size > MAX_VALUE_WEIGHT:
            raise _too_large("a joined string (~)")
    return (markup_join if context.eval_ctx.autoescape else str_join)(parts)


@pass_context
def _value(context: Context, value: Any) -> Any:
    return _weigh(value)


@pass_context
def _emit(context: Context, value: Any) -> Any:
    _spend(chars=len(str(_weigh(value))))
    return value


def _internal(node: nodes.Expr, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


def _size(body: list[nodes.Node]) -> int:
    """How many nodes a block holds: the steps one pass through it may take without another charge."""
    return sum(1 for statement in body for _ in statement.find_all(nodes.Node)) + len(body)


class _Instrument(NodeTransformer):
    """Route loop iterables, built values and emitted output through the budget filters."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        cost = max(1, _size(node.body))  # measured before instrumenting adds nodes
        node = self.generic_visit(node)
        node.iter = _internal(node.iter, "_mono_iterate", nodes.Const(cost, lineno=node.lineno))
        return node

    def _charged_body(self, node: nodes.Macro | nodes.CallBlock) -> nodes.Node:
        cost = max(1, _size(node.body))
        node = self.generic_visit(node)
        charge = nodes.ExprStmt(_internal(nodes.Const(cost, lineno=node.lineno), "_mono_charge"), lineno=node.lineno)
        node.body = [charge, *node.body]
        return node

    visit_Macro = visit_CallBlock = _charged_body

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return _internal(nodes.Tuple(node.nodes, "load", lineno=node.lineno), "_mono_concat")

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

    visit_List = visit_Dict = _weighed

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._weighed(node) if node.ctx == "load" else self.generic_visit(node)  # else `for k, v` target


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable Jinja sandbox, with every operator and call budgeted and size-checked."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True)
        self.filters["sum"] = _number_sum
        self.filters = {
            name: _guard_filter(name, function) for name, function in self.filters.items() if name in ALLOWED_FILTERS
        }
        self.filters.update(
            _mono_iterate=_iterate, _mono_value=_value, _mono_emit=_emit, _mono_charge=_charge, _mono_concat=_concat
        )
        self.tests = {name: test for name, test in self.tests.items() if name in ALLOWED_TESTS}
        self.globals = {name: value for name, value in self.globals.items() if name in ALLOWED_GLOBALS}
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
        _charge_input(args, kwargs)
        if isinstance(owner := getattr(__obj, "__self__", None), str):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                _check_join(owner, args[0] if isinstance(args[0], list | tuple) else list(args[0]))
            elif name in ("strip", "lstrip", "rstrip") and args:
                _check_strip(args[0])
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


def render(template: str, variables: Mapping[str, Any], *, autoescape: bool = False, field: str | None = None) -> str:
    """Render a template as plain text; raise TemplateError (naming `field`, when given) on any
    failure or exceeded limit."""
    try:
        return _render(template, variables, autoescape)
    except TemplateError as exc:
        if field is None:
            raise
        raise TemplateError(str(exc), field=field) from None


def _render(template: str, variables: Mapping[str, Any], autoescape: bool) -> str:
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


def render_html(template: str, variables: Mapping[str, Any], *, field: str | None = None) -> str:
    """Render a template for an HTML body: variables are escaped unless marked safe."""
    return render(template, variables, autoescape=True, field=field)


def render_value(value: Any, variables: Mapping[str, Any], *, field: str | None = None) -> Any:
    """Render every string inside nested dicts and lists (keys are left alone); other values pass
    through. An error names the string's path under `field` (`body.items[0].name`)."""
    if isinstance(value, str):
        return render(value, variables, field=field)
    if isinstance(value, Mapping):
        return {
            key: render_value(item, variables, field=f"{field}.{key}" if field else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [render_value(item, variables, field=f"{field or ''}[{index}]") for index, item in enumerate(value)]
    return value
