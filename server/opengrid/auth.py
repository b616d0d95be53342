"""The service's HS512 tokens (passwords are hashed by apitwin.server.core.passwords). No HTTP."""
from __future__ import annotations

from datetime import timedelta

import jwt

TOKEN_LIFETIME = timedelta(hours=4)


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
