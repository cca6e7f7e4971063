"""Encryption of tenant provider keys at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from `LLM_CREDENTIAL_KEY`, or is derived from `SECRET_KEY` when that is unset;
rotating either makes stored keys unreadable, so set `LLM_CREDENTIAL_KEY` explicitly in
production and keep it.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    secret = settings.LLM_CREDENTIAL_KEY or settings.SECRET_KEY
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored provider key cannot be decrypted (was LLM_CREDENTIAL_KEY changed?)") from exc
