"""Safe, deterministic evaluation of Decision-node conditions written in CEL.

CEL (Common Expression Language) is side-effect free and not Turing complete, so tenant text can
be evaluated without `eval`. The library is `cel-python` (`celpy`), chosen over the Rust-backed
`common-expression-language` because:

- determinism: celpy iterates maps in insertion order, while the Rust bindings iterate in a
  per-process random hash order, so `m.map(k, k)[0]` could differ between a workflow's first run
  and its replay;
- inspectable AST: the lark tree lets this module reject unknown names and functions when the
  editor validates a definition (not halfway through a run), and count evaluation steps;
- it never calls `eval`/`exec` (its interpreted runner walks the tree).

Evaluation is bounded by expression length, nesting depth and a step budget, because a condition
runs inside a workflow task, where a slow evaluation trips Temporal's deadlock detector and a large
one takes down the worker that hosts every tenant. The budget counts work, never time, so a replay
fails at exactly the same point:

- every inner AST node evaluated spends a step (again for each iteration of a macro);
- every function and operator call spends a step plus one per `WEIGHT_PER_STEP` of the weight of its
  arguments and result, so touching large values costs what it costs;
- every value the evaluation builds (operator and function results, list and map literals, macro
  results) is weighed, in items plus characters with shared parts counted each time they appear,
  and refused over `MAX_VALUE_WEIGHT`: `reduce(r, i, "ab", r + r)` stops after some twenty doublings
  instead of building gigabytes, and `[r, r]` cannot hide an exponential tree behind shared lists.
  Containers carry their weight once known, so weighing never walks the same list twice;
- `*`, `/` and `%` take numbers only (celpy would hand a string to Python's `str %`).

The functions a condition may call are an allow-list (`ALLOWED_FUNCTIONS`); `matches` uses RE2, whose
time is linear in its input.

The Temporal workflow must import this module inside `workflow.unsafe.imports_passed_through()`:
lark touches the file system when imported and reads its grammar file at the first parse, which
the sandbox forbids.
"""

import contextlib
import functools
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.celparser import CELParser
from celpy.evaluation import Activation, Evaluator, base_functions

MAX_EXPRESSION_CHARS = 2_000
# Evaluation recurses about five Python frames per AST level; 120 levels (some 100 `&&` terms or a
# dozen nested brackets) keeps well under the interpreter's default limit of 1,000 frames.
MAX_TREE_DEPTH = 120
# About half a second of pure-Python tree walking: well inside a workflow task's 2 s budget.
MAX_EVALUATION_STEPS = 50_000
# The largest value (items plus characters) an evaluation may build. Inputs are not held to it.
MAX_VALUE_WEIGHT = 1_000_000
# A call touching this much weight costs one more step (a step of tree walking costs about as
# much CPU as comparing a few hundred list items).
WEIGHT_PER_STEP = 256
# Converting variables to CEL values costs about as much per value as an evaluation step.
MAX_VARIABLE_VALUES = 50_000
MAX_VARIABLE_DEPTH = 64

ROOT_NAMES = frozenset({"input", "steps", "variables"})
_MACROS = frozenset({"has", "dyn", "all", "exists", "exists_one", "map", "filter", "reduce", "min"})
# Every named function celpy offers, each linear in its input (`matches` runs RE2). Kept explicit
# so that a celpy upgrade adding a function does not widen what tenants can call unreviewed.
ALLOWED_FUNCTIONS = frozenset(
    "bool bytes contains double duration endsWith getDate getDayOfMonth getDayOfWeek getDayOfYear getFullYear "
    "getHours getMilliseconds getMinutes getMonth getSeconds int list map matches size startsWith string "
    "timestamp type uint".split()
)
_FUNCTIONS = (ALLOWED_FUNCTIONS & frozenset(base_functions)) | _MACROS
# Type names appear as identifiers (`type(x) == int`); `google` prefixes protobuf wrapper types.
_TYPE_NAMES = frozenset("bool bytes double duration google int list map null_type string timestamp type uint".split())


class ExpressionError(ValueError):
    """A condition that does not compile, or that fails or is not a bool when evaluated.

    `field` names the node field the condition came from when the caller gave it (`condition`);
    the message then starts with it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class _Breach(Exception):
    """Past a limit. Not a ValueError or TypeError: celpy folds those into CEL error values."""


class _OutOfSteps(_Breach):
    pass


class _Budget:
    """Evaluation steps left, shared by an evaluator and the sub-evaluators its macros create."""

    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise _OutOfSteps


# The budget of the evaluation running on this thread (workflow tasks may evaluate on several
# threads); the wrapped CEL functions charge it. A ContextVar, not a global, for that reason.
_current: ContextVar[_Budget | None] = ContextVar("condition_budget", default=None)
_WEIGHT = "_mono_weight"


def _weight(value: Any) -> int:
    """Items plus characters, shared parts counted each time; cached on lists and maps, whose values
    never change once built (celpy builds new ones), so each container is walked once."""
    if isinstance(value, str | bytes):
        return len(value) + 1
    if isinstance(value, list | dict):
        known = getattr(value, _WEIGHT, None)
        if known is not None:
            return known
        total = 1 + len(value)
        if (budget := _current.get()) is not None:
            budget.spend(len(value) // 16)  # a Python-level walk: about a step's CPU per 16 items
        parts = value.items() if isinstance(value, dict) else ((item, None) for item in value)
        for key, item in parts:
            total += _weight(key) + (_weight(item) if item is not None else 0)
            if total > 2**62:  # only reached by weights already refused; keeps the sum cheap
                break
        try:
            setattr(value, _WEIGHT, total)
        except AttributeError:  # a plain list or dict (not a celpy type) cannot carry it
            pass
        return total
    return 1


def _built(value: Any) -> Any:
    """Refuse a value the evaluation built when it weighs more than MAX_VALUE_WEIGHT."""
    if isinstance(value, str | bytes | list | dict) and _weight(value) > MAX_VALUE_WEIGHT:
        raise _Breach(f"the condition built a value larger than {MAX_VALUE_WEIGHT} characters or items")
    return value


def _numbers_only(function: Any) -> Any:
    def arithmetic(left: Any, right: Any) -> Any:
        if not (_numeric(left) and _numeric(right)):
            raise TypeError(f"no such overload for {type(left).__name__} and {type(right).__name__}")
        return function(left, right)

    return arithmetic


def _charged(function: Any, *, concatenates: bool = False) -> Any:
    """Wrap a CEL function or operator: charge its arguments and result, weigh what it built."""

    def call(*args: Any) -> Any:
        budget = _current.get()
        weight = sum(_weight(argument) for argument in args)
        if budget is not None:
            budget.spend(1 + weight // WEIGHT_PER_STEP)
        if concatenates and isinstance(args[0], str | bytes | list | dict):
            # Concatenation: its weight is known before building it, and never needs a walk.
            if weight > MAX_VALUE_WEIGHT:
                raise _Breach(f"the condition built a value larger than {MAX_VALUE_WEIGHT} characters or items")
            result = function(*args)
            if isinstance(result, list | dict):
                with contextlib.suppress(AttributeError):
                    setattr(result, _WEIGHT, weight - 1)
            return result
        result = _built(function(*args))
        if budget is not None and isinstance(result, str | bytes | list | dict):
            budget.spend(_weight(result) // WEIGHT_PER_STEP)
        return result

    return functools.wraps(function)(call)


class _BudgetedEvaluator(Evaluator):
    """celpy's tree-walking evaluator, charged one step per inner node it evaluates, weighing every
    list and map it builds."""

    def __init__(self, ast: lark.Tree, activation: Any, budget: _Budget) -> None:
        super().__init__(ast, activation)
        self.budget = budget

    def visit_children(self, tree: lark.Tree) -> list[Any]:
        self.budget.spend()
        return super().visit_children(tree)

    def sub_evaluator(self, ast: lark.Tree) -> Evaluator:
        return _BudgetedEvaluator(ast, self.activation, self.budget)

    def exprlist(self, tree: lark.Tree) -> Any:
        return _built(super().exprlist(tree))

    def mapinits(self, tree: lark.Tree) -> Any:
        return _built(super().mapinits(tree))

    def member_dot_arg(self, tree: lark.Tree) -> Any:
        result = super().member_dot_arg(tree)
        if str(tree.children[1]) in _MACROS:
            # map/filter results are new lists; min walks its list without visiting a node per item.
            self.budget.spend(_weight(result) // WEIGHT_PER_STEP)
            return _built(result)
        return result


def _numeric(value: object) -> bool:
    return isinstance(value, celtypes.IntType | celtypes.UintType | celtypes.DoubleType)


def _mixed_numeric(operator: str) -> Any:
    """Compare int, uint and double with each other, as current CEL specifies.

    celpy predates heterogeneous numeric comparison, and JSON input gives `150.5` or `150`
    depending on the user's data, so `input.amount > 100` must work for both.
    """
    base = base_functions[operator]

    def compare(left: Any, right: Any) -> Any:
        if _numeric(left) and _numeric(right) and type(left) is not type(right):
            return celtypes.BoolType(base(float(left), float(right)))
        return base(left, right)

    return compare


_OPERATORS: dict[str, Any] = {
    name: base_functions[name] for name in base_functions if not name.isidentifier() or name in ALLOWED_FUNCTIONS
}
_OPERATORS.update({op: _mixed_numeric(op) for op in ("_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_")})
_OPERATORS.update({op: _numbers_only(base_functions[op]) for op in ("_*_", "_/_", "_%_")})
_OPERATORS = {name: _charged(function, concatenates=name == "_+_") for name, function in _OPERATORS.items()}


def _tree_depth(tree: lark.Tree) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))
    return deepest


def _to_cel(value: Any, budget: list[int], depth: int = 0) -> Any:
    """Convert JSON-like data to CEL values, refusing data too large or deep to evaluate over.

    The converted lists and maps are not weighed here: `_weight` caches as it first needs them."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_VARIABLE_DEPTH:
        raise ExpressionError("the run's variables are too large or too deeply nested to evaluate a condition")
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:  # CEL ints are 64-bit
            raise ExpressionError(f"the number {value} is too large for a condition")
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType(
            {celtypes.StringType(str(key)): _to_cel(item, budget, depth + 1) for key, item in value.items()}
        )
    if isinstance(value, list | tuple):
        return celtypes.ListType([_to_cel(item, budget, depth + 1) for item in value])
    raise ExpressionError(f"a variable holds a {type(value).__name__}, which conditions cannot use")


def _check_names(ast: lark.Tree) -> frozenset[str]:
    """The root variables a condition uses; unknown names and functions are refused here, where the
    editor can show them, rather than halfway through a run."""
    bound: set[str] = set()
    for call in ast.find_data("member_dot_arg"):
        method = str(call.children[1])
        if method not in _FUNCTIONS:
            raise ExpressionError(f"unknown function {method}()")
        if method in _MACROS and len(call.children) > 2 and isinstance(call.children[2], lark.Tree):
            # The first argument(s) of a macro name its loop variables: `list.exists(x, x > 1)`.
            for argument in call.children[2].children[: 2 if method == "reduce" else 1]:
                bound.update(str(token.children[0]) for token in argument.find_data("ident"))
    for call in ast.find_data("ident_arg"):
        if str(call.children[0]) not in _FUNCTIONS:
            raise ExpressionError(f"unknown function {call.children[0]}()")
    for call in ast.find_data("dot_ident_arg"):
        raise ExpressionError(f"unknown function .{call.children[0]}()")
    roots: set[str] = set()
    for ident in ast.find_data("ident"):
        name = str(ident.children[0])
        if name in ROOT_NAMES:
            roots.add(name)
        elif name not in bound and name not in _TYPE_NAMES:
            raise ExpressionError(f"unknown name {name!r}; conditions can use input, steps and variables")
    return frozenset(roots)


@dataclass(frozen=True)
class CompiledCondition:
    """A parsed, checked condition; `evaluate` may be called many times."""

    source: str
    ast: lark.Tree = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()

    def evaluate(self, variables: Mapping[str, Any], *, field: str | None = None) -> bool:
        """Evaluate against the run's variables (`input`, `steps`, `variables`); raise ExpressionError
        (naming `field`, when given) on failure or when a limit is passed."""
        try:
            return self._evaluate(variables)
        except ExpressionError as exc:
            if field is None:
                raise
            raise ExpressionError(str(exc), field=field) from None

    def _evaluate(self, variables: Mapping[str, Any]) -> bool:
        # Only the roots the condition names are converted: `variables` repeats all of `input`.
        budget = [MAX_VARIABLE_VALUES]
        activation_values = {name: _to_cel(value, budget) for name, value in variables.items() if name in self.names}
        activation = Activation(annotations=celpy.googleapis, functions=_OPERATORS)
        steps = _Budget(MAX_EVALUATION_STEPS)
        evaluator = _BudgetedEvaluator(self.ast, activation, steps)
        token = _current.set(steps)
        try:
            result = evaluator.evaluate(activation_values)
        except celpy.CELEvalError as exc:
            raise ExpressionError(self._describe(exc)) from None
        except _OutOfSteps:
            raise ExpressionError(f"the condition took more than {MAX_EVALUATION_STEPS} steps to evaluate") from None
        except _Breach as exc:
            raise ExpressionError(str(exc)) from None
        except RecursionError:
            raise ExpressionError("the condition is nested too deeply to evaluate") from None
        except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
            raise ExpressionError(f"the condition failed: {exc}") from None
        finally:
            _current.reset(token)
        if not isinstance(result, celtypes.BoolType):
            raise ExpressionError(f"the condition must be true or false, not {_cel_type_name(result)} {result!r}")
        return bool(result)

    def _describe(self, exc: celpy.CELEvalError) -> str:
        message = str(exc.args[0]) if exc.args else "evaluation failed"
        tree = getattr(exc, "tree", None)
        where = ""
        if isinstance(tree, lark.Tree) and getattr(tree.meta, "start_pos", None) is not None:
            where = self.source[tree.meta.start_pos : tree.meta.end_pos]
        if message.startswith("no such member in mapping") and where:
            return f"{where} does not exist ({message})"
        return f"{where}: {message}" if where else message


def _cel_type_name(value: object) -> str:
    names = {celtypes.IntType: "int", celtypes.DoubleType: "double", celtypes.StringType: "string"}
    return names.get(type(value), type(value).__name__.removesuffix("Type").lower())


@lru_cache(maxsize=512)
def compile_condition(text: str) -> CompiledCondition:
    """Parse and check a CEL condition; raise ExpressionError with a message fit for the editor."""
    if not isinstance(text, str):
        raise ExpressionError("the condition must be text")
    if not text.strip():
        raise ExpressionError("the condition is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"the condition is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        # A parser per call: CELParser keeps the text being parsed on the instance, so one shared
        # by a worker's threads could parse another thread's text. The grammar itself is built
        # once, on first use (never at import: that reads a file).
        ast = CELParser().parse(text)
    except celpy.CELParseError as exc:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        position = f" at line {line}, column {column}" if line and column else ""
        context = str(exc.args[0]).rstrip() if exc.args else ""
        raise ExpressionError(f"syntax error{position}:\n{context}") from None
    except RecursionError:
        raise ExpressionError("the condition is nested too deeply") from None
    if _tree_depth(ast) > MAX_TREE_DEPTH:
        raise ExpressionError("the condition nests too deeply; simplify it or split it across Decision nodes")
    return CompiledCondition(source=text, ast=ast, names=_check_names(ast))


def check_condition(text: object) -> str | None:
    """The reason a condition does not compile, or None when it does."""
    if not isinstance(text, str):
        return "the condition must be text"
    try:
        compile_condition(text)
    except ExpressionError as exc:
        return str(exc)
    return None


def run_context(input: Mapping[str, Any], steps: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The names a condition or template sees: `input`, `steps` and `variables`.

    `variables` is `input` overlaid with every step result in the order `steps` lists them (the
    interpreter inserts steps as they finish, so a later step's key wins).
    """
    merged: dict[str, Any] = dict(input)
    for result in steps.values():
        if isinstance(result, Mapping):
            merged.update(result)
    return {"input": dict(input), "steps": {key: dict(value) for key, value in steps.items()}, "variables": merged}
