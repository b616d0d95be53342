"""`--ca-file PEM` of `apitwin conform` and `apitwin proxy`: a stand-in served with
`apitwin serve --tls` is checked over HTTPS when the kit is given its local CA; without it
the run stops at once on the untrusted certificate (exit 2), and a file that is no CA is one
line before anything is sent."""
from __future__ import annotations


import httpx
import pytest

from apitwin.conformance.proxy import Proxy
from apitwin.conformance.proxy_cli import main as proxy_main
from apitwin.conformance.trust import ca_context
from apitwin.server.core.app import create
from apitwin.server.core.tls import local
from conformance_helpers import kit, serving
from proxy_helpers import serving_proxy

FAST = ("--max-examples", "3", "--stateful-steps", "2")


@pytest.fixture(scope="module")
def https(tmp_path_factory):
    """Data Cortex served over HTTPS with a certificate of a fresh local CA: (base URL, ca.pem)."""
    certificate = local(tmp_path_factory.mktemp("tls"), "127.0.0.1")
    with serving(create("datacortex")[1], certificate) as base:
        yield base, certificate.ca


def test_the_kit_passes_over_https_with_the_stand_ins_ca(capsys, https):
    base, ca = https
    code, out, err = kit(capsys, "datacortex", base, "--ca-file", str(ca), *FAST)
    assert code == 0, (out + err)[-4000:]
    assert "app_created_listed_and_deleted" in out and "PASSED" in out


def test_the_ca_file_comes_from_the_environment_too(capsys, https, monkeypatch):
    base, ca = https
    monkeypatch.setenv("APITWIN_DATACORTEX_CA_FILE", str(ca))
    code, out, err = kit(capsys, "datacortex", base, "--scenarios-only")
    assert code == 0, (out + err)[-4000:]


def test_without_the_ca_the_run_stops_on_the_certificate(capsys, https):
    base, _ = https
    code, out, err = kit(capsys, "datacortex", base, *FAST)
    assert code == 2
    assert out == ""  # nothing was tested, so no table of failures
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"apitwin conform: could not run: the TLS certificate of {base} is not trusted")
    assert "--ca-file" in lines[0]


def test_a_ca_file_of_another_ca_is_named(capsys, https, tmp_path):
    base, _ = https
    other = local(tmp_path, "127.0.0.1").ca
    code, _, err = kit(capsys, "datacortex", base, "--ca-file", str(other), *FAST)
    assert code == 2
    assert f"is not trusted by the CAs of --ca-file {other}" in err


@pytest.mark.parametrize("content, message", [
    (None, "cannot read --ca-file {path}: No such file or directory"),
    ("not a certificate\n", "--ca-file {path} holds no PEM certificate"),
])
def test_a_ca_file_that_is_no_pem_is_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    code, out, err = kit(capsys, "datacortex", "https://127.0.0.1:9", "--ca-file", str(path))
    assert code == 2 and out == ""
    assert err == f"apitwin conform: bad arguments: {message.format(path=path)}\n"
    assert proxy_main(["datacortex", "--target", "https://127.0.0.1:9", "--ca-file", str(path)]) == 2
    assert capsys.readouterr().err == f"apitwin proxy: {message.format(path=path)}\n"


CAROL = {"Cookie": "session_key=dcsession-carol-0000000000000000000000003"}


def test_the_proxy_forwards_to_an_https_target_it_is_given_the_ca_of(https):
    base, ca = https
    lines: list[str] = []
    proxy = Proxy("datacortex", base, log=lines.append, trust=ca_context(str(ca)))
    with serving_proxy(proxy) as url:
        answer = httpx.get(f"{url}/api/1/user", headers=CAROL)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "carol@consulting.example"
    assert lines == [] and proxy.tally.exchanges == 1 and proxy.tally.upstream_errors == 0


def test_the_proxy_names_an_untrusted_target_certificate(https):
    base, _ = https
    lines: list[str] = []
    proxy = Proxy("datacortex", base, log=lines.append)
    with serving_proxy(proxy) as url:
        answer = httpx.get(f"{url}/api/1/user", headers=CAROL)
    assert answer.status_code == 502
    assert proxy.tally.upstream_errors == 1
    assert len(lines) == 1 and "certificate verify failed" in lines[0] and "--ca-file" in lines[0], lines
