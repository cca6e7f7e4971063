"""Parsing a route's text into its ordered candidates `provider:model`, joined by `>` (or `→` or `,`). Pure.

The gateway (`llm.gateway`) then tries those candidates in order; this module only reads the text.
"""

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"\s*(?:>|→|,)\s*")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class Candidate:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


class RouteError(ValueError):
    """The route text is malformed; the message says which part."""


def parse_route(text: str) -> tuple[Candidate, ...]:
    """The candidates named by `text`, in order; `RouteError` names the malformed part."""
    candidates = []
    for part in filter(None, _SEPARATORS.split(text.strip())):
        provider, sep, model = part.partition(":")
        if not sep or not _NAME.fullmatch(provider) or not model.strip():
            raise RouteError(f"{part!r} is not provider:model (e.g. openai:gpt-4o)")
        candidates.append(Candidate(provider, model.strip()))
    if not candidates:
        raise RouteError("the route names no provider:model")
    return tuple(candidates)
