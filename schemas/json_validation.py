"""Validate JSON responses against the schemas in ``schemas/json/``.

Pure helper for tests and tools: depends only on the standard library,
``jsonschema`` and ``referencing``. Schemas are JSON Schema draft 2020-12 and
refer to each other by their ``$id`` (the file name, e.g.
``requests.json#/$defs/datetime``); a ``referencing`` registry holding every
file resolves those references offline.

    from schemas.json_validation import validate, validator

    validate("requests", response.get_json())      # raises jsonschema.ValidationError
    validator("services").is_valid(payload)         # -> bool
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

__all__ = ["SCHEMA_DIR", "ValidationError", "names", "registry", "schema", "validate", "validator"]

#: Directory holding the ``*.json`` schema files (shipped as package data).
SCHEMA_DIR = Path(__file__).resolve().with_name("json")


def _normalize(name: str) -> str:
    """Map ``"requests"``, ``"requests.json"`` or ``"json/requests.json"`` to the file name."""
    stem = Path(name).name
    return stem if stem.endswith(".json") else f"{stem}.json"


@functools.cache
def _load_all() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        with path.open(encoding="utf-8") as fh:
            contents = json.load(fh)
        schema_id = contents.get("$id")
        if schema_id != path.name:
            raise RuntimeError(f"{path}: $id {schema_id!r} must equal the file name {path.name!r}")
        Draft202012Validator.check_schema(contents)
        schemas[path.name] = contents
    if not schemas:
        raise RuntimeError(f"no JSON schemas found in {SCHEMA_DIR}")
    return schemas


def names() -> list[str]:
    """Names accepted by :func:`validator` (file names without ``.json``)."""
    return [n[: -len(".json")] for n in _load_all()]


def schema(name: str) -> dict[str, Any]:
    """The parsed schema document ``name`` (e.g. ``"requests"``)."""
    key = _normalize(name)
    try:
        return _load_all()[key]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(names())}") from None


@functools.cache
def registry() -> Registry:
    """A registry with every schema file, keyed by its ``$id`` (= file name)."""
    return Registry().with_resources(
        (schema_id, Resource.from_contents(contents)) for schema_id, contents in _load_all().items()
    )


def validator(name: str) -> Draft202012Validator:
    """A cached :class:`jsonschema.Draft202012Validator` for ``name`` (e.g. ``"requests"``)."""
    return _validator(_normalize(name))


@functools.cache
def _validator(key: str) -> Draft202012Validator:
    return Draft202012Validator(
        schema(key),
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def validate(name: str, instance: Any) -> None:
    """Validate ``instance`` against schema ``name``.

    Raises :class:`jsonschema.ValidationError` if it is invalid:
    the most relevant error (``jsonschema.exceptions.best_match``).
    """
    error = best_match(validator(name).iter_errors(instance))
    if error is not None:
        raise error


# Re-exported so callers can ``except json_validation.ValidationError``.
ValidationError = jsonschema.ValidationError
