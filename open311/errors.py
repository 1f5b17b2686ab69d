"""The Open311Error hierarchy: each error carries its HTTP status and a spec description.

Operations raise these; one handler (``open311.api``) renders them in the URL's format as
the spec's ``errors`` body. Descriptions are shown to clients: they never carry personal
data or internals.
"""

from __future__ import annotations


class Open311Error(Exception):
    status = 400

    def __init__(
        self, description: str, *, code: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.code = code if code is not None else self.status
        self.headers = headers or {}

    def errors(self) -> list[dict]:
        return [{"code": self.code, "description": self.description}]


class BadRequest(Open311Error):
    """400: the request cannot be fulfilled as sent (a missing or invalid parameter)."""

    status = 400


class Forbidden(Open311Error):
    """403: a missing, unknown or revoked api_key."""

    status = 403


class NotFound(Open311Error):
    """404: an unknown resource, service_code, jurisdiction_id, request or token."""

    status = 404


class PayloadTooLarge(Open311Error):
    status = 413


# How long a client is asked to wait (Retry-After) when the database cannot be reached.
RETRY_AFTER_SECONDS = 5


class Busy(Open311Error):
    """503: the server has no room for this now (e.g. too many exports at once); retry."""

    status = 503

    def __init__(self, description: str) -> None:
        super().__init__(description, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class ValidationFailed(BadRequest):
    """400 with one error per invalid parameter (each description names its parameter)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def errors(self) -> list[dict]:
        return [{"code": self.code, "description": p} for p in self.problems]
