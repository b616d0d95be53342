"""The package list, found rather than listed, so a new API folder ships without an edit.

The repository keeps its top-level folders; installed, they live under `apitwin`
(package-dir in pyproject.toml maps them). pyproject.toml cannot find packages under a
remapped folder, hence this file: every folder with an __init__.py below server/ and
conformance/ (e.g. a new server/<api>/) is a package, and every folder of fixtures/
(e.g. a new fixtures/<api>/) a data package; package-data in pyproject.toml ships
their JSON and YAML files.
"""
from setuptools import find_namespace_packages, find_packages, setup

# Repository folder -> its name in the installed package (also in pyproject's package-dir).
CODE = {"server": "apitwin.server", "conformance": "apitwin.conformance"}

packages = ["apitwin", "apitwin.openapi", "apitwin.fixtures"]
for folder, installed in CODE.items():
    packages += [installed + name[len(folder):] for name in find_packages(include=[folder, f"{folder}.*"])]
packages += [f"apitwin.fixtures.{name}"
             for name in find_namespace_packages(where="fixtures", exclude=["*__pycache__*"])]

setup(packages=packages)
