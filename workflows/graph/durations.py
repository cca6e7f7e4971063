"""ISO-8601 durations and datetimes for Wait and Approval nodes.

Pure standard library, so the Temporal workflow sandbox and the editor's validation share it.
Years and months are refused: their length depends on the calendar, and a durable timer needs a
fixed number of seconds (write `P30D` instead of `P1M`).
"""

import math
import re
from datetime import datetime, timedelta

# Timers longer than this are almost certainly a typo (P1000W); Temporal would accept them and
# the run would silently hang for decades.
MAX_DURATION_SECONDS = 3650 * 24 * 3600

_DURATION = re.compile(
    r"P(?!$)"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)"
    r"(?:(?P<hours>\d+(?:[.,]\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?"
    r")?"
)
_UNIT_SECONDS = {"weeks": 7 * 24 * 3600, "days": 24 * 3600, "hours": 3600, "minutes": 60, "seconds": 1}
_CALENDAR_UNITS = re.compile(r"P(?:[^T]*[YM])")


class DurationError(ValueError):
    """An ISO-8601 duration or datetime that the engine cannot use."""


def parse_duration(text: object) -> timedelta:
    """Parse an ISO-8601 duration such as `P2D`, `PT1H30M` or `P1W`; raise DurationError if invalid."""
    if not isinstance(text, str) or not text.strip():
        raise DurationError("expected an ISO-8601 duration such as P2D or PT1H30M")
    value = text.strip().upper()
    if _CALENDAR_UNITS.match(value):
        raise DurationError(f"{text!r}: years and months have no fixed length; use weeks or days (e.g. P30D)")
    match = _DURATION.fullmatch(value)
    if match is None or not any(match.groupdict().values()):
        raise DurationError(f"{text!r} is not an ISO-8601 duration such as P2D or PT1H30M")
    seconds = 0.0
    for unit, amount in match.groupdict().items():
        if amount is not None:
            seconds += float(amount.replace(",", ".")) * _UNIT_SECONDS[unit]
    if seconds > MAX_DURATION_SECONDS:
        raise DurationError(f"{text!r} is longer than the maximum of {MAX_DURATION_SECONDS // 86400} days")
    return timedelta(seconds=seconds)


def duration_seconds(text: object) -> int:
    """Whole seconds in a positive ISO-8601 duration, rounded up so a timer never fires early."""
    seconds = math.ceil(parse_duration(text).total_seconds())
    if seconds <= 0:
        raise DurationError(f"{text!r} must be longer than zero")
    return seconds


def parse_datetime(text: object) -> datetime:
    """Parse an ISO-8601 datetime with a UTC offset (`2025-01-31T09:00:00Z`); naive values are refused.

    A naive time would be read in whichever zone the worker runs in, so it is ambiguous.
    """
    if not isinstance(text, str) or not text.strip():
        raise DurationError("expected an ISO-8601 datetime such as 2025-01-31T09:00:00Z")
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DurationError(f"{text!r} is not an ISO-8601 datetime such as 2025-01-31T09:00:00Z") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise DurationError(f"{text!r} has no UTC offset; add Z or +02:00")
    return value
