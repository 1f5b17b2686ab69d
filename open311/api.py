"""flask-smorest, made to speak GeoReport: format suffixes, spec errors, spec parameters.

- ``<fmt:fmt>`` in a route matches ``json`` or ``xml`` only; any other suffix matches no
  route and is a 404 (rendered in JSON).
- Every error, ours or Werkzeug's, is the spec's ``errors`` body in the URL's format with
  its HTTP status: never a 422, an HTML page or a traceback.
- The parser drops empty parameters (the spec treats them as absent), reads list
  parameters as comma lists and/or repeated keys, reads the POST form together with the
  query string, folds ``attribute[...]`` keys, and turns validation errors into a 400 that
  names each parameter.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import marshmallow as ma
from flask import request
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from open311.errors import Open311Error, ValidationFailed
from open311.formats import Format, render
from schemas.fields import CommaList
from schemas.params import fold_attributes
from schemas.resources import SpecError

logger = logging.getLogger(__name__)

HTTP_DESCRIPTIONS = {
    400: "bad request",
    403: "forbidden",
    404: "resource not found",
    405: "method not allowed",
    413: "request too large",
    429: "too many requests",
    500: "internal server error",
}


class FormatConverter(BaseConverter):
    regex = "json|xml"

    def to_python(self, value: str) -> Format:
        return Format(value)

    def to_url(self, value: Any) -> str:
        return Format(value).value


LOCATIONS = {"query", "querystring", "form", "json", "headers", "view_args"}


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as ``parameter: message`` lines, named as the client
    sent them (no webargs location layer, no list indexes)."""
    if isinstance(messages, dict):
        lines: list[str] = []
        for key, value in messages.items():
            if key == "_schema" or isinstance(key, int) or (not prefix and key in LOCATIONS):
                name = prefix
            else:
                name = f"{prefix}[{key}]" if prefix else str(key)
            lines.extend(_flatten(value, name))
        return list(dict.fromkeys(lines))
    if isinstance(messages, list):
        return [line for m in messages for line in _flatten(m, prefix)]
    text = str(messages)
    return [f"{prefix}: {text}" if prefix and not text.startswith(prefix) else text]


class Open311Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    @staticmethod
    def _plain(multidict, schema: ma.Schema) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in multidict:
            if key.startswith("attribute"):
                continue
            values = [v for v in multidict.getlist(key) if v.strip() != ""]
            if not values:
                continue  # a passed-but-empty parameter is an absent one
            field = schema.fields.get(key)
            multiple = isinstance(field, CommaList | ma.fields.List)
            data[key] = values if multiple else values[0]
        return data

    def load_querystring(self, req, schema: ma.Schema) -> dict[str, Any]:
        return self._plain(req.args, schema)

    # Form parameters that may also come in the query string (never personal data: URLs
    # end up in logs and browser histories).
    FORM_OR_QUERY = ("api_key", "jurisdiction_id", "extensions")

    def load_form(self, req, schema: ma.Schema) -> dict[str, Any]:
        """The form, ``api_key``/``jurisdiction_id`` from the query string when the form
        has none, and ``attribute[...]`` keys folded into ``attributes``."""
        query = self._plain(req.args, schema)
        data = {key: query[key] for key in self.FORM_OR_QUERY if key in query}
        data.update(self._plain(req.form, schema))
        attributes, problems = fold_attributes(req.form.items(multi=True))
        if problems:
            raise ValidationFailed(problems)
        data["attributes"] = attributes
        return data

    def handle_error(self, error: ma.ValidationError, req, schema, *, error_status_code,
                     error_headers) -> NoReturn:
        raise ValidationFailed(_flatten(error.messages))


class Open311Blueprint(Blueprint):
    ARGUMENTS_PARSER = Open311Parser()

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, with a schema class instantiated once here (webargs would
        instantiate it on every request)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


def error_response(status: int, errors: list[dict], headers: dict[str, str] | None = None):
    return render(errors, "errors", Format.from_path(request.path), status=status,
                  headers=headers)


class Open311Api(Api):
    # The error body every response documents: the spec's errors array.
    ERROR_SCHEMA = SpecError(many=True)

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(Open311Error, self.handle_open311_error)
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(Exception, self.handle_unexpected)

    @staticmethod
    def handle_open311_error(error: Open311Error):
        return error_response(error.status, error.errors(), error.headers)

    @staticmethod
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        if status >= 500:
            logger.error("HTTP %s on %s %s", status, request.method, request.path)
        description = HTTP_DESCRIPTIONS.get(status, error.name.lower())
        if status == 404:
            description = f"{request.path} is not a resource of this server"
        elif status == 405:
            description = f"{request.method} is not allowed on {request.path}"
        elif status == 413:
            limit = request.max_content_length
            description = f"the request body is larger than {limit} bytes"
        headers = {}
        if status == 405:
            allow = error.get_response().headers.get("Allow")
            if allow:
                headers["Allow"] = allow
        return error_response(status, [{"code": status, "description": description}], headers)

    @staticmethod
    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return Open311Api.handle_http_exception(error)
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, [{"code": 500, "description": "internal server error"}])
