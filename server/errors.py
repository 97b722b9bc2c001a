"""Yijian's domain errors, and the one place that maps them to HTTP and WebSocket.

    YijianError
    ├── BadRequest          (400)  the input is malformed or breaks a rule
    │   └── BadState        (409)  the thing exists but is in the wrong state
    │       └── CallTaken   (409)  another operator answered first
    ├── Unauthorized        (401)  no session, wrong password, wrong kiosk token
    ├── Forbidden           (403)  logged in, but not allowed (e.g. another town)
    └── NotFound            (404)  no such call, town, kiosk or operator

Each carries a short ``code`` that both the REST API (``{"error": {"code", "message"}}``)
and the WebSocket ``error`` message use, so clients can translate it.
"""

from __future__ import annotations


class YijianError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(YijianError):
    status = 400
    code = "bad_request"


class BadState(BadRequest):
    status = 409
    code = "bad_state"


class CallTaken(BadState):
    code = "call_taken"


class Unauthorized(YijianError):
    status = 401
    code = "unauthorized"


class Forbidden(YijianError):
    status = 403
    code = "forbidden"


class NotFound(YijianError):
    status = 404
    code = "not_found"


def error_body(exc: YijianError) -> dict[str, dict[str, str]]:
    return {"error": {"code": exc.code, "message": exc.message}}
