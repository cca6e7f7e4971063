"""The payload codec: every payload Mono hands Temporal is encrypted with its namespace's data key.

- One `NamespaceCodec` per namespace (a codec does not learn which namespace a payload is for, so
  each namespace's client gets its own data converter; see `data_converter_for`).
- AES-256-GCM (`mono.kernel.aead`), a random nonce per payload, the namespace and key id as
  associated data: a payload copied into another namespace does not decode there.
- The key id travels in the payload's metadata, so rotated keys keep old payloads readable.
- Payloads without the encrypted encoding pass through `decode` unchanged: histories recorded
  before encryption still replay, and the codec endpoint shows them as they are.
- Failure messages and stack traces are moved into an encoded payload by the failure converter
  (`encode_common_attributes`), so they are encrypted too.

Keys come from a `KeyStore` that an app registers in its `ready()` (this layer imports no app);
unwrapped keys are cached per process, bounded, so a warm codec costs one AES-GCM call per payload.
"""

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from mono.kernel import aead

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
# How long a process keeps encrypting with the key it last read as current. A rotation made in
# another process reaches this one within that time; until then both keys decode everywhere.
CURRENT_KEY_SECONDS = 30.0
MAX_CACHED_KEYS = 1024


class KeyStore(Protocol):
    """Where data keys live (registered by the tenants app). Both calls are sync and may hit the database."""

    def current_key(self, namespace: str) -> tuple[str, bytes]:
        """The (key id, key) new payloads of `namespace` are encrypted with; made on first use."""

    def key(self, namespace: str, key_id: str) -> bytes | None:
        """The key `key_id` of `namespace`, or None when `namespace` has no such key."""


class PayloadKeyUnknown(ValueError):
    """An encrypted payload names a key its namespace does not have."""


class CodecNotConfigured(RuntimeError):
    """No key store was registered (an app's ready() registers one)."""


_store: KeyStore | None = None


def set_key_store(store: KeyStore) -> None:
    """Register where keys come from (called once from an app's `ready()`)."""
    global _store
    _store = store
    keyring.clear()


def _key_store() -> KeyStore:
    if _store is None:
        raise CodecNotConfigured("no payload key store is registered; is the tenants app installed?")
    return _store


@dataclass(frozen=True)
class _Key:
    key_id: str
    cipher: AESGCM


class Keyring:
    """Per-process cache of unwrapped keys: current key per namespace (short-lived) and keys by id (LRU)."""

    def __init__(self, max_keys: int = MAX_CACHED_KEYS):
        self._lock = threading.Lock()
        self._current: dict[str, tuple[_Key, float]] = {}
        self._by_id: OrderedDict[tuple[str, str], _Key] = OrderedDict()
        self._max = max_keys

    def clear(self) -> None:
        with self._lock:
            self._current.clear()
            self._by_id.clear()

    def forget_current(self, namespace: str) -> None:
        """Re-read the current key of `namespace` next time (after a rotation in this process)."""
        with self._lock:
            self._current.pop(namespace, None)

    def cached_current(self, namespace: str) -> _Key | None:
        entry = self._current.get(namespace)
        if entry and time.monotonic() - entry[1] < CURRENT_KEY_SECONDS:
            return entry[0]
        return None

    def cached(self, namespace: str, key_id: str) -> _Key | None:
        with self._lock:
            found = self._by_id.get((namespace, key_id))
            if found:
                self._by_id.move_to_end((namespace, key_id))
            return found

    def remember(self, namespace: str, key_id: str, raw: bytes, *, current: bool) -> _Key:
        key = _Key(key_id, aead.cipher(raw))
        with self._lock:
            self._by_id[(namespace, key_id)] = key
            self._by_id.move_to_end((namespace, key_id))
            while len(self._by_id) > self._max:
                self._by_id.popitem(last=False)
            if current:
                if len(self._current) >= self._max:
                    self._current.clear()
                self._current[namespace] = (key, time.monotonic())
        return key


keyring = Keyring()


def _aad(namespace: str, key_id: str) -> bytes:
    return f"mono-payload|{namespace}|{key_id}".encode()


class NamespaceCodec(PayloadCodec):
    """Encrypts and decrypts the payloads of one namespace."""

    def __init__(self, namespace: str, store: KeyStore | None = None):
        self.namespace = namespace
        self._own_store = store  # tests and replays may bring their own; else the registered one

    def _store(self) -> KeyStore:
        return self._own_store or _key_store()

    async def _current(self) -> _Key:
        key = keyring.cached_current(self.namespace)
        if key is None:
            key_id, raw = await asyncio.to_thread(self._store().current_key, self.namespace)
            key = keyring.remember(self.namespace, key_id, raw, current=True)
        return key

    async def _by_id(self, key_id: str) -> _Key:
        key = keyring.cached(self.namespace, key_id)
        if key is None:
            raw = await asyncio.to_thread(self._store().key, self.namespace, key_id)
            if raw is None:
                raise PayloadKeyUnknown(f"namespace {self.namespace} has no payload key {key_id!r}")
            key = keyring.remember(self.namespace, key_id, raw, current=False)
        return key

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key = await self._current()
        aad = _aad(self.namespace, key.key_id)
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID: key.key_id.encode()},
                data=aead.seal(key.cipher, payload.SerializeToString(), aad),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # written before encryption (or by a codec-less client)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            key = await self._by_id(key_id)
            inner = Payload()
            inner.ParseFromString(aead.unseal(key.cipher, payload.data, _aad(self.namespace, key_id)))
            decoded.append(inner)
        return decoded


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


_converters: dict[str, DataConverter] = {}


def data_converter_for(namespace: str) -> DataConverter:
    """The data converter every client and worker of `namespace` uses (one per namespace, reused)."""
    converter = _converters.get(namespace)
    if converter is None:
        converter = DataConverter(
            payload_codec=NamespaceCodec(namespace),
            failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        )
        _converters[namespace] = converter
    return converter
