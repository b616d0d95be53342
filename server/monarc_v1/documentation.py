"""What the real service serves about itself, besides the API: its Swagger UI page
(`/api/v1/`), the Swagger 2.0 document Flask-RESTX generates (`/api/v1/swagger.json`), the
page's assets (`/swaggerui/...`) and the instance's details (`/about.json`, root_bp).

- `swagger.json` (next to this module) holds the bytes stats-service 0.5.3 (720e5f5, its
  production configuration) serves, wrong parts included (research notes §13). Nothing in it
  follows the request: Flask-RESTX writes `host` only when SERVER_NAME is configured (the
  service never does) and `basePath` is the blueprint's mount, `/api/v1`.
- `swagger-ui.html` is Flask-RESTX 1.3.0's template as the service renders it; only the
  document's URL varies, `{INSTANCE_URL}/api/v1/swagger.json`.
- The assets are swagger-ui-dist's files, from the pinned `swagger_ui_bundle` (Connexion's
  Swagger UI) rather than Flask-RESTX's copy (another swagger-ui version, same file names).
"""
from __future__ import annotations

import json
from importlib.resources import files

from swagger_ui_bundle import swagger_ui_path

from .urls import escape

_HERE = files(__package__)
SPECS_URL_MARK = "{{ specs_url }}"
# The names in Flask-RESTX 1.3.0's static folder that swagger_ui_bundle also ships; its
# Droid Sans stylesheet and fonts (droid-sans.css, files/...) are not shipped: 404, and the
# page falls back to another font.
ASSETS = frozenset(
    [f"favicon-{size}.png" for size in ("16x16", "32x32")] + ["oauth2-redirect.html"]
    + [f"{name}{ext}" for name in ("swagger-ui-bundle.js", "swagger-ui-es-bundle-core.js", "swagger-ui-es-bundle.js",
                                   "swagger-ui-standalone-preset.js", "swagger-ui.css", "swagger-ui.js")
       for ext in ("", ".map")])
# The types Flask gave them (Python's guess on the service's image; fixed here, as a host's
# own mime.types could change the guess).
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
         ".html": "text/html; charset=utf-8", ".map": "application/octet-stream"}
# `version` as the service derives it from `git describe` (v0.5.3-101-g720e5f5), and the
# ADMIN_EMAIL of its production configuration (also in swagger.json's description).
VERSION = "v0.5.3 - 720e5f5"
VERSION_URL = "https://github.com/monarc-project/stats-service/commits/720e5f5"
CONTACT = "opensource@nc3.lu"
API_ROOT = "/api/v1/"


def _read(name: str) -> bytes:
    return (_HERE / name).read_bytes()


def swagger_document() -> bytes:
    return _read("swagger.json")


def swagger_ui_page(instance_url: str) -> bytes:
    # Jinja's autoescape writes the URL into the page, as markupsafe escapes it.
    page = _read("swagger-ui.html").decode("utf-8")
    return page.replace(SPECS_URL_MARK, escape(f"{instance_url}/api/v1/swagger.json")).encode("utf-8")


def asset(name: str) -> tuple[bytes, str] | None:
    """(body, content type) of a Swagger UI asset, None when the service has no such file."""
    if name not in ASSETS:
        return None
    return (swagger_ui_path / name).read_bytes(), TYPES[name[name.rindex("."):]]


def about() -> bytes:
    """`/about.json` as Flask's `jsonify` writes it: compact, keys sorted, a trailing newline."""
    details = {"version": VERSION, "version_url": VERSION_URL, "api_v1_root": API_ROOT, "contact": CONTACT}
    return (json.dumps(details, separators=(",", ":"), sort_keys=True) + "\n").encode("ascii")
