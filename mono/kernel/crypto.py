"""Symmetric encryption of short secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class UndecryptableSecret(ValueError):
    """A stored token was not made with this key (or was changed)."""


@functools.lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def encrypt(plaintext: str, *, secret: str) -> str:
    """A token for `plaintext` under a key derived from `secret`; the empty string stays empty."""
    return _fernet(secret).encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str, *, secret: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(secret).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableSecret("the stored secret cannot be decrypted (was LLM_CREDENTIAL_KEY changed?)") from exc
