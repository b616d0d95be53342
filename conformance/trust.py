"""`--ca-file PEM` of `apitwin conform` and `apitwin proxy`: the certificate authorities a
deployment served over HTTPS is checked against (e.g. the local CA of `apitwin serve --tls`),
instead of the default ones. Every request either tool sends to the deployment uses them."""
from __future__ import annotations

import ssl


class BadCAFile(Exception):
    """A --ca-file that cannot be used; the message is one line."""


def ca_context(path: str) -> ssl.SSLContext:
    """A client TLS context that trusts the certificates in the PEM file `path`."""
    try:
        return ssl.create_default_context(cafile=path)
    except ssl.SSLError:  # read, but no "-----BEGIN CERTIFICATE-----" block in it
        raise BadCAFile(f"--ca-file {path} holds no PEM certificate") from None
    except OSError as exc:
        raise BadCAFile(f"cannot read --ca-file {path}: {exc.strerror or exc}") from None


def untrusted(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed behind a transport error, if that is what it was."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
