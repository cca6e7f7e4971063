"""Login throttling: failed attempts counted per username and per client address in the cache.

Counting both stops one address guessing many accounts' passwords and many addresses guessing one
account's. A success clears the username's count only: an address that fails for many accounts
stays suspicious even when one of its guesses is right. Counters expire
`CONSOLE_LOGIN_LOCKOUT_SECONDS` after the first failure of a window.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Lockout:
    """Why a login attempt is refused before the password is even checked."""

    reason: str  # "username" or "address"
    retry_after_seconds: int

    @property
    def message(self) -> str:
        minutes = max(1, round(self.retry_after_seconds / 60))
        who = "this username" if self.reason == "username" else "your network address"
        return f"Too many failed sign-in attempts for {who}. Try again in {minutes} minute{'s' * (minutes != 1)}."


def _key(kind: str, value: str) -> str:
    # Hashed: usernames and addresses stay out of the cache's key space and any length fits.
    return f"console-login:{kind}:" + hashlib.sha256(value.strip().lower().encode()).hexdigest()


def login_lockout(*, username: str, address: str) -> Lockout | None:
    """The lockout this attempt falls under, or None if it may go ahead."""
    window = settings.CONSOLE_LOGIN_LOCKOUT_SECONDS
    if username and (cache.get(_key("username", username)) or 0) >= settings.CONSOLE_LOGIN_FAILURES_PER_USERNAME:
        return Lockout("username", window)
    if address and (cache.get(_key("address", address)) or 0) >= settings.CONSOLE_LOGIN_FAILURES_PER_ADDRESS:
        return Lockout("address", window)
    return None


def login_failed(*, username: str, address: str) -> None:
    """Count one failed attempt against the username and the address."""
    for kind, value in (("username", username), ("address", address)):
        if not value:
            continue
        key = _key(kind, value)
        # add() starts the window only if no count exists; incr() never moves its expiry.
        if not cache.add(key, 1, timeout=settings.CONSOLE_LOGIN_LOCKOUT_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=settings.CONSOLE_LOGIN_LOCKOUT_SECONDS)


def login_succeeded(*, username: str) -> None:
    """A correct password clears the username's count."""
    cache.delete(_key("username", username))
