"""MONARC Stats v1: what the real service serves about itself, with no key -- its Swagger UI
page (`/api/v1/`) and the page's assets (`/swaggerui/...`), the Swagger 2.0 document
Flask-RESTX generates (`/api/v1/swagger.json`), and `/about.json` (root_bp)."""
from __future__ import annotations

import json
import re

import pytest

from apitwin.server.monarc_v1.documentation import ASSETS
from monarc_v1_helpers import JSON, client, key, make_twin, restx, twin, v1  # noqa: F401

HTML = "text/html; charset=utf-8"
UI = "/api/v1/"
DOCUMENT = "/api/v1/swagger.json"
ABOUT = "/about.json"
NOT_FOUND_TITLE = b"<title>404 Not Found</title>"
METHOD_NOT_ALLOWED_PAGE = (
    b"<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
    b"<p>The method is not allowed for the requested URL.</p>\n"
)


def _spec_url(page: str) -> str:
    return re.search(r'url: "([^"]*)"', page).group(1)


# -- the Swagger UI page -------------------------------------------------------------------------
def test_the_swagger_ui_page_needs_no_key_and_loads_the_document_from_where_it_is_served(client):
    r = client.get(UI, headers={"Host": "stats.example.org:8443"})
    assert r.status_code == 200
    assert r.headers["content-type"] == HTML
    assert "<title>MONARC Stats service - API v1</title>" in r.text
    assert _spec_url(r.text) == "http://stats.example.org:8443/api/v1/swagger.json"


def test_the_page_loads_the_document_from_the_configured_instance_url():
    _, client = make_twin(instance_url="https://dashboard.example.org")
    page = client.get(UI, headers=key("not-a-key")).text
    assert _spec_url(page) == "https://dashboard.example.org/api/v1/swagger.json"


def test_the_instance_url_is_escaped_in_the_page_as_jinja_does():
    _, client = make_twin(instance_url='http://h/"><script>')
    assert _spec_url(client.get(UI).text) == "http://h/&#34;&gt;&lt;script&gt;/api/v1/swagger.json"


def test_api_v1_without_its_slash_redirects_to_the_page(client):
    r = client.get("/api/v1", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == "http://testserver/api/v1/"


def test_the_assets_the_page_needs_are_served(client):
    page = client.get(UI).text
    assets = re.findall(r'(?:href|src)="(/swaggerui/[^"]+)"', page)
    assert {"/swaggerui/swagger-ui-bundle.js", "/swaggerui/swagger-ui-standalone-preset.js",
            "/swaggerui/swagger-ui.css", "/swaggerui/favicon-32x32.png"} <= set(assets)
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}
    for path in assets:
        r = client.get(path)
        if path == "/swaggerui/droid-sans.css":  # Flask-RESTX's font, not shipped: the page falls back
            assert r.status_code == 404
            continue
        assert r.status_code == 200, path
        assert r.headers["content-type"] == types[path[path.rindex("."):]]
        assert r.headers["content-disposition"] == f"inline; filename={path.rsplit('/', 1)[1]}"
        assert r.headers["cache-control"] == "no-cache"
        assert r.content


def test_the_bundle_is_swagger_ui(client):
    r = client.get("/swaggerui/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in r.content


def test_a_source_map_is_octet_stream_as_flask_types_it(client):
    r = client.get("/swaggerui/swagger-ui.js.map")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_every_file_of_flask_restx_that_is_shipped_is_served(client, name):
    r = client.get(f"/swaggerui/{name}")
    assert r.status_code == 200
    assert r.content


@pytest.mark.parametrize("path", ["/swaggerui/index.html", "/swaggerui/__init__.py", "/swaggerui/nothing.js",
                                  "/swaggerui/files/droid-sans-latin-400.woff2", "/swaggerui/..%2F__init__.py",
                                  "/swaggerui/", "/swaggerui"])
def test_files_flask_restx_does_not_serve_get_werkzeugs_html_404(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == HTML
    assert NOT_FOUND_TITLE in r.content


# -- the Swagger 2.0 document --------------------------------------------------------------------
def test_the_swagger_document_is_served_as_flask_restx_writes_it(client):
    r = client.get(DOCUMENT)
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON
    document = r.json()
    assert r.content == restx(document)
    assert document["swagger"] == "2.0"
    assert document["info"]["title"] == "MONARC Stats service - API v1"
    assert set(document["paths"]) == {"/client/", "/client/me", "/stats/", "/stats/processed/",
                                      "/stats/processed/list", "/stats/{anr}"}


def test_the_document_has_no_host_and_the_api_base_path_whatever_the_request(client):
    plain = client.get(DOCUMENT)
    elsewhere = client.get(DOCUMENT, headers={"Host": "stats.example.org"})
    assert plain.content == elsewhere.content
    assert "host" not in plain.json()
    assert plain.json()["basePath"] == "/api/v1"


def test_a_key_sent_to_the_document_is_not_read(client):
    plain = client.get(DOCUMENT).content
    assert client.get(DOCUMENT, headers=key()).content == plain
    assert client.get(DOCUMENT, headers=key("unknown")).content == plain


def test_the_document_keeps_what_it_gets_wrong(client):
    document = client.get(DOCUMENT).json()
    listing = document["paths"]["/stats/"]["get"]
    assert listing["responses"]["200"]["schema"] == {"type": "array", "items": {"$ref": "#/definitions/StatsList"}}
    arguments = listing["parameters"][0]["schema"]["properties"]
    assert arguments["anrs"] == {"type": "string"}
    assert "404" in document["paths"]["/stats/{anr}"]["get"]["responses"]


# -- /about.json ---------------------------------------------------------------------------------
def test_about_json_names_the_version_and_the_api_root(client):
    r = client.get(ABOUT, headers=key("unknown"))
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON
    assert r.content == (
        b'{"api_v1_root":"/api/v1/","contact":"opensource@nc3.lu","version":"v0.5.3 - 720e5f5",'
        b'"version_url":"https://github.com/monarc-project/stats-service/commits/720e5f5"}\n')
    assert client.get(json.loads(r.content)["api_v1_root"]).status_code == 200


# -- what Werkzeug answers on these routes -------------------------------------------------------
@pytest.mark.parametrize("path", [UI, ABOUT, "/swaggerui/swagger-ui.css"])
def test_another_method_outside_flask_restx_is_werkzeugs_html_405(client, path):
    r = client.post(path)
    assert r.status_code == 405
    assert r.headers["content-type"] == HTML
    assert r.headers["allow"] == "HEAD, OPTIONS, GET"
    assert r.content == METHOD_NOT_ALLOWED_PAGE


def test_another_method_on_the_document_is_flask_restxs_json_405(client):
    r = client.delete(DOCUMENT)
    assert r.status_code == 405
    assert r.headers["allow"] == "HEAD, OPTIONS, GET"
    assert r.content == restx({"message": "The method is not allowed for the requested URL."})


@pytest.mark.parametrize("path", [UI, DOCUMENT, ABOUT, "/swaggerui/swagger-ui.css"])
def test_head_and_options(client, path):
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    options = client.options(path)
    assert options.status_code == 200 and options.content == b""
    assert options.headers["allow"] == "HEAD, OPTIONS, GET"


@pytest.mark.parametrize("path", ["/about.json/", "/api/v1/swagger.json/"])
def test_an_extra_trailing_slash_is_a_404(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == HTML
