"""apitwin: stand-in servers and a conformance kit for real HTTP APIs.

The repository's top-level folders are installed under this package (see setup.py):
`server/` as `apitwin.server`, `conformance/` as `apitwin.conformance`, and the data
folders `openapi/` and `fixtures/` as `apitwin.openapi` and `apitwin.fixtures`. Their
data is read through importlib.resources, so the same code runs from a checkout and from
an installed wheel.
"""
from importlib import metadata, resources

__version__ = metadata.version("apitwin")

# Package resources (importlib.resources Traversables), not paths: join with `/`, read
# with read_text() or open(), list with iterdir().
OPENAPI_DIR = resources.files("apitwin.openapi")  # openapi/<api>.yaml, the contracts
FIXTURES_DIR = resources.files("apitwin.fixtures")  # fixtures/<api>/*.json, the seed data
