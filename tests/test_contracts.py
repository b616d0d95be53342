"""Every document in openapi/ is valid OpenAPI, and its operations and handlers match."""
from __future__ import annotations

import importlib
import inspect
import types

import pytest
import yaml
from openapi_spec_validator import validate

from apitwin import OPENAPI_DIR
from apitwin.server.core.api import available, definition
from apitwin.server.core.app import ADMIN_SPEC

DOCUMENTS = [*sorted((f for f in OPENAPI_DIR.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name),
             ADMIN_SPEC]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operation_ids(spec: dict) -> set[str]:
    return {
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in METHODS
    }


def public_handlers(module) -> set[str]:
    return {
        # type() first: Connexion's `request` proxy raises on any attribute access.
        name for name, fn in vars(module).items()
        if type(fn) is types.FunctionType and inspect.iscoroutinefunction(fn)
        and not name.startswith("_") and fn.__module__ == module.__name__
    }


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_document_is_valid_openapi(path):
    with path.open(encoding="utf-8") as f:
        validate(yaml.safe_load(f))


def test_every_api_folder_has_its_document():
    names = available()
    assert "monarc" in names
    for name in names:
        assert definition(name).spec_path.is_file(), name


@pytest.mark.parametrize("name", available())
def test_operations_and_handlers_match(name):
    api = definition(name)
    module = importlib.import_module(api.handlers)
    assert operation_ids(api.load_spec()) == public_handlers(module)


def test_admin_operations_and_handlers_match():
    with ADMIN_SPEC.open(encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    module = importlib.import_module("apitwin.server.core.admin")
    assert operation_ids(spec) == public_handlers(module)
