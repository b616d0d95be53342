"""Passwords (salted PBKDF2) and the service's HS512 tokens. No HTTP."""
from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta

import jwt

TOKEN_LIFETIME = timedelta(hours=4)
_ITERATIONS = 20_000


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not isinstance(password, str):
        return False
    try:
        _, iterations, salt, digest = stored.split("$")
        computed = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def issue(claims: dict, secret: str) -> str:
    """A JWT with the header `{"alg":"HS512"}` exactly, as the real service writes it."""
    return jwt.encode(claims, secret, algorithm="HS512", headers={"typ": None})


def read(token: str, secret: str) -> dict | None:
    """The claims of a well-signed token (expiry is checked by the caller against the server clock)."""
    try:
        return jwt.decode(token, secret, algorithms=["HS512"],
                          options={"verify_exp": False, "require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
