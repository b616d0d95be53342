"""`apitwin serve --tls`: every API over HTTPS, for clients that only speak it (the Data Cortex
Node SDK sends with Node's `https` module alone). A client that trusts the local CA's file
gets the same answers as over HTTP; one that does not is refused; the CA is made once and
kept; one's own certificate and key serve as well; their mistakes are one line, exit 2."""
from __future__ import annotations

import http.client
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from apitwin.server.core.api import definition
from apitwin.server.core.app import create
from apitwin.server.core.cli import main
from apitwin.server.core.health import healthy
from apitwin.server.core.http_protocol import MAX_TARGET, TOO_LONG
from apitwin.server.core.serve import trust_lines
from apitwin.server.core.tls import CA_FILE, CA_KEY_FILE, Certificate, local, own, server_names, state_dir
from conformance_helpers import free_port, serving
from datacortex_helpers import CAROL, as_user

APITWIN = Path(sys.executable).with_name("apitwin")


def trusting(ca: Path) -> ssl.SSLContext:
    """A client that trusts `ca` alone, and checks as strictly as Python 3.13's default
    context does (RFC 5280 rules on the CA and server certificates)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="module")
def datacortex():
    return create("datacortex")[1]


@pytest.fixture(scope="module")
def https(datacortex, tls_dir):
    certificate = local(tls_dir, "127.0.0.1")
    with serving(datacortex, certificate) as base:
        yield base, certificate.ca


def test_an_api_answers_over_https_as_over_http(datacortex, https):
    base, ca = https
    assert base.startswith("https://")
    with serving(datacortex) as plain:
        over_http = httpx.get(f"{plain}/api/1/user", headers=as_user(CAROL))
    over_https = httpx.get(f"{base}/api/1/user", headers=as_user(CAROL), verify=trusting(ca))
    assert over_https.status_code == over_http.status_code == 200
    assert over_https.json() == over_http.json()
    assert over_https.json()["email"] == "carol@consulting.example"


def test_every_loopback_name_is_in_the_certificate(https):
    base, ca = https
    port = base.rsplit(":", 1)[1]
    # Served on 127.0.0.1: `localhost` reaches it where it resolves to that address.
    answer = httpx.get(f"https://localhost:{port}/__apitwin/admin/openapi.json", verify=trusting(ca))
    assert answer.status_code == 200


def test_the_containers_health_check_sees_a_server_over_https(https):
    base, _ = https
    assert healthy([int(base.rsplit(":", 1)[1])])


def test_a_client_that_does_not_trust_the_ca_is_refused(https):
    base, _ = https
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{base}/api/1/user")


def https_get(base: str, target: str, ca: Path, headers: dict) -> tuple[int, bytes, dict]:
    """A request of any length (httpx refuses URLs over 64 KiB, as browsers do not)."""
    host, port = base.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), timeout=30, context=trusting(ca))
    try:
        connection.request("GET", target, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read(), {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


def test_the_http_layer_serves_long_targets_and_answers_its_refusals_over_https(https):
    base, ca = https
    status, body, _ = https_get(base, "/api/1/user?pad=" + "a" * 100_000, ca, as_user(CAROL))
    assert status == 200 and b"carol@consulting.example" in body
    status, body, headers = https_get(base, "/api/1/user?pad=" + "a" * MAX_TARGET, ca, {})
    expected_status, expected = definition("datacortex").errors.shape(414, TOO_LONG, "uri_too_long")
    assert (status, httpx.Response(status, content=body).json()) == (expected_status, expected)
    assert headers["content-type"].startswith("application/json")


def test_the_ca_is_made_once_and_kept(tmp_path):
    first = local(tmp_path, "127.0.0.1")
    ca, ca_key = (tmp_path / CA_FILE).read_bytes(), (tmp_path / CA_KEY_FILE).read_bytes()
    second = local(tmp_path, "127.0.0.1")
    assert second.ca == first.ca == tmp_path / CA_FILE
    assert (tmp_path / CA_FILE).read_bytes() == ca and (tmp_path / CA_KEY_FILE).read_bytes() == ca_key
    # The second start's server certificate is signed by the CA a client trusted after the first.
    issued = x509.load_pem_x509_certificate(second.certfile.read_bytes())
    issued.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))
    # The CA's key is the user's alone.
    assert (tmp_path / CA_KEY_FILE).stat().st_mode & 0o077 == 0


def test_ca_pem_is_written_again_from_the_kept_ca(tmp_path):
    local(tmp_path, "127.0.0.1")
    ca = (tmp_path / CA_FILE).read_bytes()
    (tmp_path / CA_FILE).unlink()
    local(tmp_path, "127.0.0.1")
    assert (tmp_path / CA_FILE).read_bytes() == ca


@pytest.mark.parametrize("host, names", [
    ("127.0.0.1", ["localhost", "127.0.0.1", "::1"]),
    ("::1", ["localhost", "127.0.0.1", "::1"]),
    ("0.0.0.0", ["localhost", "127.0.0.1", "::1"]),
    ("192.0.2.7", ["localhost", "127.0.0.1", "::1", "192.0.2.7"]),
    ("DevBox.test", ["localhost", "127.0.0.1", "::1", "devbox.test"]),
])
def test_the_server_certificate_is_for_the_loopback_names_and_the_host(host, names):
    assert server_names(host) == names


def test_a_certificate_for_another_host_names_it(tmp_path):
    certificate = local(tmp_path, "192.0.2.7")
    assert certificate.certfile.name == "localhost+192.0.2.7.pem"
    issued = x509.load_pem_x509_certificate(certificate.certfile.read_bytes())
    names = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1", "192.0.2.7"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG folders of Linux and other Unixes")
def test_the_ca_is_kept_in_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert state_dir() == tmp_path / "apitwin" / "tls"
    monkeypatch.setenv("XDG_DATA_HOME", "relative")  # invalid: never the current folder
    assert state_dir() == Path.home() / ".local" / "share" / "apitwin" / "tls"


def own_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A certificate and its key in two files, signed by a CA of their own (as mkcert's):
    (certificate, key, that CA's file)."""
    issued = local(tmp_path / "other-ca", "127.0.0.1")
    data = issued.certfile.read_bytes()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.PEM))
    key.write_bytes(serialization.load_pem_private_key(data, None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert, key, issued.ca


def test_ones_own_certificate_and_key_serve(datacortex, tmp_path):
    cert, key, ca = own_files(tmp_path)
    with serving(datacortex, own(str(cert), str(key))) as base:
        answer = httpx.get(f"{base}/api/1/user", headers=as_user(CAROL), verify=trusting(ca))
    assert answer.status_code == 200 and answer.json()["email"] == "carol@consulting.example"


def refused(capsys, *argv) -> str:
    """The one line `apitwin serve <argv>` answers with exit 2, nothing on stdout."""
    code = main(["serve", "datacortex", "--port", str(free_port()), *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), (code, out, err)
    assert err.count("\n") == 1, err
    return err.strip()


def test_a_missing_key_file_is_one_line(capsys, tmp_path):
    cert, _, _ = own_files(tmp_path)
    missing = tmp_path / "nope.pem"
    assert refused(capsys, "--tls-cert", str(cert), "--tls-key", str(missing)) == (
        f"apitwin: cannot read TLS key {missing}: No such file or directory")
    assert refused(capsys, "--tls-cert", str(missing), "--tls-key", str(cert)) == (
        f"apitwin: cannot read TLS certificate {missing}: No such file or directory")


def test_a_certificate_without_its_key_is_one_line(capsys, tmp_path):
    cert, key, _ = own_files(tmp_path)
    assert refused(capsys, "--tls-cert", str(cert)) == (
        "apitwin: --tls-cert and --tls-key go together (a certificate and its private key)")
    assert refused(capsys, "--tls-key", str(key)) == (
        "apitwin: --tls-cert and --tls-key go together (a certificate and its private key)")
    assert refused(capsys, "--tls-cert", str(cert), "--tls-key", str(key), "--tls-dir", str(tmp_path)) == (
        "apitwin: --tls-dir keeps the local CA, which --tls-cert replaces: give one of them")


def test_files_that_are_not_a_certificate_and_its_key_are_one_line(capsys, tmp_path):
    cert, key, _ = own_files(tmp_path)
    other_key = own_files(tmp_path / "other")[1]
    assert refused(capsys, "--tls-cert", str(key), "--tls-key", str(key)).startswith(
        f"apitwin: cannot use TLS certificate {key} with key {key}: ")
    assert refused(capsys, "--tls-cert", str(cert), "--tls-key", str(other_key)) == (
        f"apitwin: cannot use TLS certificate {cert} with key {other_key}: KEY_VALUES_MISMATCH "
        "(PEM files of a certificate and its private key)")


def test_a_damaged_local_ca_is_one_line(capsys, tmp_path):
    local(tmp_path, "127.0.0.1")
    (tmp_path / CA_KEY_FILE).write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n")
    assert refused(capsys, "--tls", "--tls-dir", str(tmp_path)) == (
        f"apitwin: the local CA {tmp_path / CA_KEY_FILE} is not a PEM private key and certificate; "
        f"delete {tmp_path} to make a new one")


def test_serve_tls_prints_https_urls_and_how_to_trust_the_ca(tmp_path):
    port, tls_dir = free_port(), tmp_path / "state"
    ca = tls_dir / CA_FILE
    proc = subprocess.Popen([str(APITWIN), "serve", "datacortex", "--tls", "--tls-dir", str(tls_dir),
                             "--port", str(port), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/api/1/user", headers=as_user(CAROL),
                                   verify=trusting(ca))
                break
            except (httpx.TransportError, FileNotFoundError):  # not listening yet, or no CA yet
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate(timeout=30)
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    row = next(line for line in out.splitlines() if line.startswith("datacortex "))
    assert row.split()[1:3] == [f"https://127.0.0.1:{port}", f"https://127.0.0.1:{port}/__apitwin/ui/"]
    assert f"NODE_EXTRA_CA_CERTS={ca} node" in out
    assert f"curl --cacert {ca} https://127.0.0.1:{port}/" in out


@pytest.mark.parametrize("url, reached", [
    ("https://127.0.0.1:8003", "https://127.0.0.1:8003"),
    ("https://[::1]:8003", "https://[::1]:8003"),
    ("https://devbox.test:8003", "https://devbox.test:8003"),
    # Every interface: from this machine, by a name the certificate is for.
    ("https://0.0.0.0:8003", "https://localhost:8003"),
    ("https://[::]:8003", "https://localhost:8003"),
])
def test_the_curl_line_calls_a_url_the_certificate_is_for(url, reached):
    lines = trust_lines(Certificate(Path("/s/localhost.pem"), None, Path("/s/ca.pem")), url)
    assert f"  curl --cacert /s/ca.pem {reached}/__apitwin/admin/openapi.json" in lines
    assert any("other machines" in line for line in lines) == (reached != url)
