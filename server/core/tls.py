"""HTTPS for `apitwin serve --tls`: the certificate every port is served with.

Clients that only speak HTTPS (the Data Cortex Node SDK sends with Node's `https` module
alone) need a certificate they can verify. By default a local certificate authority is
made once per user and kept in a state folder (`state_dir()`, or `--tls-dir`), so a client
trusts it once (NODE_EXTRA_CA_CERTS, httpx's `verify`, curl's `--cacert`); each start
issues a server certificate from it for localhost, 127.0.0.1, ::1 and the host served on.
One's own certificate and key (e.g. from mkcert) are used as they are.

Files of the state folder (private ones are readable by the user alone):
- `ca-key.pem`: the CA's private key and its certificate, in one file, so it is created
  whole or not at all (two first starts at once keep the one written first);
- `ca.pem`: the CA's certificate alone, the file clients are told to trust;
- `localhost.pem` (`localhost+<host>.pem` for another host): the server's certificate and
  its key, in one file, so a start never reads one start's certificate with another's key.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("", "0.0.0.0", "::")  # every interface: clients reach it by another name
CA_DAYS = 10 * 365
# A year: within what browsers and Apple's clients accept of a server certificate.
SERVER_DAYS = 365


class TLSError(Exception):
    """A certificate or key that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Certificate:
    """What uvicorn serves (`certfile` and `keyfile`, None when the key is in `certfile`)
    and the CA file clients trust (None for one's own certificate)."""
    certfile: Path
    keyfile: Path | None = None
    ca: Path | None = None


def state_dir() -> Path:
    """The platform's per-user data folder for apitwin's TLS files (never the current one)."""
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no user entry (some containers)
        raise TLSError("no home folder to keep the local CA in: give --tls-dir DIR") from None
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:  # XDG: a relative XDG_DATA_HOME is invalid and ignored
        xdg = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        base = xdg if xdg.is_absolute() else home / ".local" / "share"
    return base / "apitwin" / "tls"


# -- one's own certificate -----------------------------------------------------------------
def own(certfile: str, keyfile: str) -> Certificate:
    """`certfile` and `keyfile` checked as uvicorn will load them."""
    for label, path in (("certificate", certfile), ("key", keyfile)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise TLSError(f"cannot read TLS {label} {path}: {exc.strerror}") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        raise TLSError(f"cannot use TLS certificate {certfile} with key {keyfile}: "
                       f"{exc.reason or exc} (PEM files of a certificate and its private key)") from None
    return Certificate(Path(certfile), Path(keyfile))


# -- the local certificate authority -----------------------------------------------------
def local(directory: Path, host: str) -> Certificate:
    """A server certificate for `host` (and the loopback names) from the local CA kept in
    `directory`, which is made there on the first call."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        ca_key, ca_cert = _authority(directory)
        key, cert = _issue(ca_key, ca_cert, server_names(host))
        certfile = directory / _server_file(host)
        _write(certfile, _pem(cert) + _key_pem(key))
    except OSError as exc:
        raise TLSError(f"cannot keep TLS files in {directory}: {exc.strerror or exc}") from None
    return Certificate(certfile, None, directory / CA_FILE)


def server_names(host: str) -> list[str]:
    """The names a server certificate is for: the loopback ones, and `host` when clients
    reach it by that name or address."""
    host = host.strip("[]").lower()
    return [*LOCAL_NAMES, *([] if host in LOCAL_NAMES or host in WILDCARDS else [host])]


def _server_file(host: str) -> str:
    extra = server_names(host)[len(LOCAL_NAMES):]
    # ':' of an IPv6 address cannot be in a file name on Windows.
    return "+".join(["localhost", *(name.replace(":", "_") for name in extra)]) + ".pem"


def _authority(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The CA of `directory`: read, or made and written when there is none; its
    certificate also written alone to ca.pem (rewritten when it is not that one)."""
    keyfile = directory / CA_KEY_FILE
    if not keyfile.exists():
        key, cert = _new_authority()
        _write(keyfile, _key_pem(key) + _pem(cert), replace=False)
    key, cert = _read_authority(keyfile)
    certfile = directory / CA_FILE
    if not certfile.exists() or certfile.read_bytes() != _pem(cert):
        _write(certfile, _pem(cert), private=False)
    return key, cert


def _read_authority(keyfile: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    data = keyfile.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise TLSError(f"the local CA {keyfile} is not a PEM private key and certificate; delete "
                       f"{keyfile.parent} to make a new one") from None
    return key, cert


def _new_authority() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "apitwin"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"apitwin local CA ({socket.gethostname()}, {now:%Y-%m-%d})"),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _issue(ca_key, ca_cert: x509.Certificate, names: list[str]) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for `names` (host names or IP addresses), signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(min(now + datetime.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = True, replace: bool = True) -> None:
    """`data` into `path` whole (a reader never sees half of it); mode 0600 when private.
    Without `replace`, a file already there (written meanwhile by another start) is kept."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if not private:
            os.chmod(temporary, 0o644)
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
