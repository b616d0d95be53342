"""Caches for work Connexion 3.3.0 repeats on every request (measured in benchmarks/).

Connexion reads each handler's signature with `inspect.signature` on every call (about
a tenth of a GET's time); a handler's signature never changes, so it is cached. Applied
once by the app factory; the version is pinned in pyproject.toml.
"""
from __future__ import annotations

import functools

import connexion.decorators.parameter as parameter_decorators
import connexion.security as security
from connexion import utils

_original = utils.inspect_function_arguments


@functools.lru_cache(maxsize=1024)
def _cached(function):
    arguments, has_kwargs = _original(function)
    return tuple(arguments), has_kwargs


def _inspect_function_arguments(function):
    try:
        arguments, has_kwargs = _cached(function)
    except TypeError:  # an unhashable callable
        return _original(function)
    return list(arguments), has_kwargs


def install() -> None:
    parameter_decorators.inspect_function_arguments = _inspect_function_arguments
    security.inspect_function_arguments = _inspect_function_arguments
