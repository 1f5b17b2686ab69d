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
from apispec import BasePlugin
from flask import current_app, request
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.routing import BaseConverter

from open311.db import database_unavailable, describe_error
from open311.errors import RETRY_AFTER_SECONDS, BadRequest, Open311Error, ValidationFailed
from open311.formats import Format, render
from schemas.fields import CommaList, printable
from schemas.params import fold_attributes
from schemas.resources import SpecError

logger = logging.getLogger(__name__)

HTTP_DESCRIPTIONS = {
    400: "bad request",
    403: "forbidden",
    404: "resource not found",
    405: "method not allowed",
    408: "the request was not received in time",
    413: "request too large",
    414: "the URL is too long",
    429: "too many requests",
    431: "the request's header fields are too large",
    500: "internal server error",
    503: "service unavailable",
}
FORM = "application/x-www-form-urlencoded"


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

    def handle_error(
        self, error: ma.ValidationError, req, schema, *, error_status_code, error_headers
    ) -> NoReturn:
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
    return render(errors, "errors", Format.from_path(request.path), status=status, headers=headers)


XML = "text/xml; charset=utf-8"
JSON = "application/json"


class BothFormats(BasePlugin):
    """The OpenAPI document says what the server answers: every response of a resource
    with a format suffix (``.{fmt}``) in JSON and in XML (the same payload, rendered the
    Spark way); POST requests also takes a multipart form (photos as ``media`` files)."""

    @staticmethod
    def _also_xml(response) -> None:
        content = response.get("content") if isinstance(response, dict) else None
        if content and JSON in content:
            content.setdefault(XML, content[JSON])

    def response_helper(self, response, **kwargs) -> dict:
        """The shared responses (errors): in both formats too."""
        self._also_xml(response)
        return response

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        if not path or ".{fmt}" not in path:
            return
        for operation in (operations or {}).values():
            for response in operation.get("responses", {}).values():
                self._also_xml(response)
            body = operation.get("requestBody", {}).get("content", {})
            form = body.get(FORM)
            if form and path.endswith("/requests.{fmt}"):
                photos = {
                    "type": "array",
                    "items": {"type": "string", "format": "binary"},
                    "description": "Extension: photos (JPEG, PNG, WebP).",
                }
                body["multipart/form-data"] = {
                    "schema": {
                        "allOf": [
                            form["schema"],
                            {"type": "object", "properties": {"media": photos}},
                        ]
                    }
                }


class Open311Api(Api):
    # The error body every response documents: the spec's errors array.
    ERROR_SCHEMA = SpecError(many=True)

    def __init__(self, app=None, **kwargs) -> None:
        kwargs.setdefault("spec_kwargs", {}).setdefault("extra_plugins", [BothFormats()])
        super().__init__(app, **kwargs)

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(Open311Error, self.handle_open311_error)
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(Exception, self.handle_unexpected)
        self._app.before_request(check_inputs)
        self._app.after_request(no_html)

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
            description = _too_large()
        elif isinstance(error, SecurityError):
            description = (
                "the Host header does not name this server (its operator lists "
                "the hosts in OPEN311_ALLOWED_HOSTS, or sets OPEN311_BASE_URL)"
            )
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
        if isinstance(error, TimeoutError):  # the client stopped sending (open311.serving)
            logger.info("408 on %s %s: the client stopped sending", request.method, request.path)
            return error_response(408, [{"code": 408, "description": HTTP_DESCRIPTIONS[408]}])
        if database_unavailable(error):
            # An outage fails every request: one line each, no traceback.
            logger.error(
                "503 on %s %s: database unavailable (%s)",
                request.method,
                request.path,
                describe_error(error),
            )
            return error_response(
                503,
                [
                    {
                        "code": 503,
                        "description": (
                            "the service is unavailable for a moment (its database cannot be "
                            "reached); "
                            "retry later"
                        ),
                    }
                ],
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        logger.error("500 on %s %s: %s", request.method, request.path, describe_error(error))
        return error_response(500, [{"code": 500, "description": "internal server error"}])


def _too_large() -> str:
    """What a 413 says: the limit the request went over."""
    if request.mimetype == FORM:
        return f"the form is larger than {request.max_content_length} bytes"
    body_limit = request.max_content_length
    if (
        request.content_length is not None
        and body_limit is not None
        and request.content_length > body_limit
    ):
        return f"the request body is larger than {body_limit} bytes"
    if request.mimetype == "multipart/form-data":
        return (
            f"a form field is larger than {request.max_form_memory_size} bytes, or the "
            f"form has more than {request.max_form_parts} parts"
        )
    return f"the request body is larger than {body_limit} bytes"


def check_inputs() -> None:
    """Before every view: a urlencoded form is held to the form limit (werkzeug applies only
    the body limit to one), and no NUL character gets further (PostgreSQL text cannot hold
    one: refused here, whatever parameter or path segment carries it)."""
    if request.mimetype == FORM:
        limit = current_app.config["MAX_FORM_MEMORY_SIZE"]
        body = request.max_content_length
        request.max_content_length = limit if body is None else min(limit, body)
    if "\x00" in request.path:
        raise BadRequest("the path must not contain a NUL character (%00)")
    sources = (request.args, request.form) if request.method == "POST" else (request.args,)
    for source in sources:
        for key, value in source.items(multi=True):
            if not isinstance(key, str):  # a multipart part whose name werkzeug cannot read
                raise BadRequest("a form field has no readable name")
            if "\x00" in key or "\x00" in value:
                raise BadRequest(
                    f"{printable(key)}: must not contain control characters (a NUL, %00)"
                )


def no_html(response):
    """An empty answer (OPTIONS, a CORS preflight) names no content type: Flask's default,
    text/html, is nothing this server serves."""
    if response.mimetype == "text/html" and not response.content_length:
        del response.headers["Content-Type"]
    return response
