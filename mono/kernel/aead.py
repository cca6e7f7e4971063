"""AES-256-GCM for Temporal payloads and envelope encryption of their data keys.

Django-free and Temporal-free: bytes in, bytes out. A sealed blob is `nonce (12 bytes) ||
ciphertext+tag`; the nonce is random for every call, which is safe for AES-GCM up to about 2**32
messages per key (the reason keys are rotated long before that). `aad` binds a blob to its
context (namespace and key id), so a blob copied elsewhere fails to open instead of decoding.
"""

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class SealBroken(ValueError):
    """The blob was not sealed with this key and context, or was changed since."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def cipher(key: bytes) -> AESGCM:
    """The reusable cipher object for `key` (callers cache it: building one costs a little)."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
    return AESGCM(key)


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def unseal(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise SealBroken("blob too short")
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise SealBroken("wrong key or context, or the blob was altered") from exc


def parse_master_key(text: str) -> bytes:
    """A master key from its URL-safe base64 text (32 bytes); ValueError says what is wrong."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not URL-safe base64") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(f"must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def fingerprint(key: bytes) -> str:
    """A short public name for a key (which master key wrapped a data key), never the key."""
    return hashlib.sha256(b"mono-key-fingerprint|" + key).hexdigest()[:16]


def wrap(master: bytes, data_key: bytes, context: str) -> bytes:
    """`data_key` sealed under `master` for `context` (envelope encryption)."""
    return seal(cipher(master), data_key, b"mono-data-key|" + context.encode())


def unwrap(master: bytes, wrapped: bytes, context: str) -> bytes:
    return unseal(cipher(master), wrapped, b"mono-data-key|" + context.encode())
