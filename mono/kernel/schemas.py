"""JSON Schemas written by tenants (an LLM node's `output_schema`): checked on save, applied safely.

A schema is tenant text that the worker later runs against LLM output, which a prompt injection can
shape. So:

- `check_schema` refuses, when the definition is saved, what is not a Draft 2020-12 schema, what is
  too large (`MAX_SCHEMA_CHARS` of JSON, `MAX_SCHEMA_NODES` values, `MAX_SCHEMA_DEPTH` levels),
  any `$ref`/`$dynamicRef` that is not local (`#...`), a `$schema` naming another draft, and
  `patternProperties` (jsonschema matches those keys with Python's backtracking `re` in three
  places; `pattern` is kept and matched with RE2, whose time is linear);
- `validate` resolves references in a registry that can never fetch anything: jsonschema's default
  would fetch an unknown `$ref` URL with urllib (no SSRF guard, `file://`, no timeout), so a
  remote reference that slipped past the check fails as unresolvable instead.

Django-free: the graph validation (pure), the workflow steps and the LLM gateway share it.
"""

import json
from collections.abc import Iterator
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError as _MetaSchemaError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

MAX_SCHEMA_CHARS = 64_000
MAX_SCHEMA_NODES = 5_000
MAX_SCHEMA_DEPTH = 32
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_REFERENCES = ("$ref", "$dynamicRef")


class SchemaError(ValueError):
    """A schema that is refused, or an instance that does not satisfy its schema."""


def _never_fetch(uri: str) -> Any:
    raise NoSuchResource(ref=uri)


# Knows no resource at all, and its retrieve refuses every URI: nothing is ever fetched.
NO_FETCH_REGISTRY: Registry = Registry(retrieve=_never_fetch)


def _re2_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = re2.search(pattern, instance) is not None
    except re2.error:
        matched = False
    if not matched:
        yield ValidationError(f"{instance[:80]!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, validators={"pattern": _re2_pattern})


def _walk(schema: object) -> str | None:
    """The first structural problem: size, depth, a remote reference, a backtracking regex."""
    nodes, stack = 0, [(schema, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        nodes += 1
        if nodes > MAX_SCHEMA_NODES:
            return f"the schema has more than {MAX_SCHEMA_NODES} values"
        if depth > MAX_SCHEMA_DEPTH:
            return f"the schema nests deeper than {MAX_SCHEMA_DEPTH} levels (at {path or 'the top'})"
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}/{key}"
                if key in _REFERENCES and isinstance(item, str) and not item.startswith("#"):
                    return f"{where}: only local references (#/...) are allowed, not {item[:100]!r}"
                if key == "patternProperties" and isinstance(item, dict):
                    return f"{where}: patternProperties is not supported; use properties or additionalProperties"
                if key == "pattern" and isinstance(item, str):
                    try:
                        re2.compile(item)
                    except re2.error:
                        return f"{where}: {item[:100]!r} is not a regular expression RE2 accepts"
                stack.append((item, depth + 1, where))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}/{index}") for index, item in enumerate(value))
    return None


def check_schema(schema: object) -> str | None:
    """The reason a schema is refused, or None when it is a safe Draft 2020-12 schema."""
    if not isinstance(schema, dict | bool):
        return "the schema must be a JSON object"
    try:
        size = len(json.dumps(schema))
    except (TypeError, ValueError, RecursionError):
        return "the schema must be plain JSON"
    if size > MAX_SCHEMA_CHARS:
        return f"the schema is larger than {MAX_SCHEMA_CHARS} characters of JSON"
    if problem := _walk(schema):
        return problem
    if isinstance(schema, dict) and schema.get("$schema", DRAFT) != DRAFT:
        return f"$schema must be {DRAFT} (Draft 2020-12) or left out"
    try:
        _Validator.check_schema(schema)
    except _MetaSchemaError as exc:
        where = "/".join(str(part) for part in exc.path)
        return f"not a valid Draft 2020-12 schema{f' at /{where}' if where else ''}: {exc.message[:200]}"
    return None


def validate(instance: Any, schema: Any) -> None:
    """Check `instance` against a schema (refusing an unsafe schema); raise SchemaError saying why."""
    if problem := check_schema(schema):
        raise SchemaError(f"output_schema is refused: {problem}")
    try:
        error = next(_Validator(schema, registry=NO_FETCH_REGISTRY).iter_errors(instance), None)
    except Unresolvable as exc:
        raise SchemaError(f"output_schema has a reference that cannot be resolved: {exc}") from None
    except RecursionError:
        raise SchemaError("the value nests too deeply to check against output_schema") from None
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        raise SchemaError(f"{error.message[:300]}{f' (at /{where})' if where else ''}")
