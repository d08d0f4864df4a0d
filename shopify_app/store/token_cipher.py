"""Encrypt Shopify access and refresh tokens at rest with Fernet (AES-128-CBC + HMAC-SHA256).

TOKEN_ENCRYPTION_KEY may list several keys, newest first: all decrypt, the first encrypts, so keys
rotate without downtime (`flask --app shopify_app rotate-token-key` re-encrypts stored tokens).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet


class TokenDecryptionError(Exception):
    """Raise when no configured key decrypts a stored token."""


class TokenCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken as exc:
            raise TokenDecryptionError(
                "stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY"
            ) from exc

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt *ciphertext* with the newest key."""
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken as exc:
            raise TokenDecryptionError(
                "stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY"
            ) from exc


def generate_key() -> str:
    return Fernet.generate_key().decode()
