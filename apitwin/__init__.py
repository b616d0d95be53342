"""apitwin: stand-in servers and a conformance kit for real HTTP APIs.

The repository's top-level folders are installed under this package (see setup.py):
`server/` as `apitwin.server`, `conformance/` as `apitwin.conformance`, and the data
folders `openapi/` and `fixtures/` as `apitwin.openapi` and `apitwin.fixtures`, read
with importlib.resources so the same code works from a checkout and from a wheel.
"""
from importlib import metadata, resources
from importlib.resources.abc import Traversable

__version__ = metadata.version("apitwin")


def openapi_document(api: str) -> Traversable:
    """The contract of `api`: openapi/<api>.yaml."""
    return resources.files("apitwin.openapi") / f"{api}.yaml"


def openapi_documents() -> list[Traversable]:
    """Every contract shipped, by file name."""
    return sorted((f for f in resources.files("apitwin.openapi").iterdir() if f.name.endswith(".yaml")),
                  key=lambda f: f.name)


def fixtures(api: str) -> Traversable:
    """The seed data folder of `api`: fixtures/<api>/."""
    return resources.files("apitwin.fixtures") / api
