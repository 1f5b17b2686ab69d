"""CORS for the read-only endpoints: browser apps may GET from the allowed origins; nothing
else is shared across origins."""

from __future__ import annotations

from flask import Flask, Response, request

READ = ("GET", "HEAD")
EXPOSED = "Link, ETag, Last-Modified"
ALLOWED_HEADERS = "Accept, If-None-Match, If-Modified-Since"


def register(app: Flask, origins: list[str]) -> None:
    anyone = "*" in origins

    def allowed(origin: str | None) -> bool:
        return (
            bool(origin) and request.path.startswith("/open311/") and (anyone or origin in origins)
        )

    @app.before_request
    def preflight():
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        response = Response(status=204)
        origin = request.headers.get("Origin")
        if allowed(origin) and request.headers["Access-Control-Request-Method"] in READ:
            response.headers["Access-Control-Allow-Origin"] = "*" if anyone else origin
            response.headers["Access-Control-Allow-Methods"] = ", ".join(READ)
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "3600"
        if not anyone:
            response.vary.add("Origin")
        return response

    @app.after_request
    def share(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if request.method in READ and allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = "*" if anyone else origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED
        if not anyone and request.method in READ:
            response.vary.add("Origin")
        return response
