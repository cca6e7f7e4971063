"""A small per-process cache whose entries expire: for reads on hot paths that may lag a little."""

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_MISSING = object()


class TTLCache(Generic[V]):
    """Thread-safe map of loaded values, each kept `seconds()` (read at store time, so a setting
    may change it). Past `max_entries` it starts over rather than grow: callers cache bounded
    sets (tenants' keys, prices), and a rare full reload is cheaper than bookkeeping."""

    _all: "weakref.WeakSet[TTLCache]" = weakref.WeakSet()

    def __init__(self, seconds: Callable[[], float], *, max_entries: int = 10_000) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        TTLCache._all.add(self)

    @classmethod
    def clear_all(cls) -> None:
        """Empty every cache of the process (tests start each from what the database says)."""
        for cache in list(cls._all):
            cache.clear()

    def get(self, key: Hashable, default=None):
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return default
        return entry[1]

    def put(self, key: Hashable, value: V) -> None:
        expires = time.monotonic() + self._seconds()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (expires, value)

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = load()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
