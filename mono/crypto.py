"""Secrets at rest (tenant provider keys, webhook signing secrets), under the project's key.

The key comes from `LLM_CREDENTIAL_KEY`, or is derived from `SECRET_KEY` when that is unset;
rotating either makes stored secrets unreadable, so set `LLM_CREDENTIAL_KEY` explicitly in
production and keep it. The cipher itself is the Django-free `mono.kernel.crypto`.
"""

from django.conf import settings

from mono.kernel import crypto


def _secret() -> str:
    return settings.LLM_CREDENTIAL_KEY or settings.SECRET_KEY


def encrypt(plaintext: str) -> str:
    return crypto.encrypt(plaintext, secret=_secret())


def decrypt(token: str) -> str:
    """The plaintext; `UndecryptableSecret` (a ValueError) when the key changed since it was stored."""
    return crypto.decrypt(token, secret=_secret())
