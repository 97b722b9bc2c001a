"""Yijian's domain errors, and the one place that maps them to HTTP and WebSocket.

    YijianError
    ├── BadRequest          (400)  the input is malformed or breaks a rule
    │   └── BadState        (409)  the thing exists but is in the wrong state
    │       └── CallTaken   (409)  another operator answered first
    ├── Unauthorized        (401)  no session, wrong password, wrong kiosk token
    ├── Forbidden           (403)  logged in, but not allowed (e.g. another town)
    ├── NotFound            (404)  no such call, town, kiosk or operator
    ├── TooManyRequests     (429)  throttled; ``retry_after_s`` says for how long
    └── Busy                (503)  the hub's password checks are all taken; retry soon

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


class TooManyRequests(YijianError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, retry_after_s)


class Busy(YijianError):
    status = 503
    code = "busy"
    retry_after_s = 1


def retry_after(exc: YijianError) -> dict[str, str]:
    """The ``Retry-After`` header of a throttled or busy answer, else none."""
    seconds = getattr(exc, "retry_after_s", None)
    return {"Retry-After": str(seconds)} if seconds else {}


def error_body(exc: YijianError) -> dict[str, dict[str, str]]:
    return {"error": {"code": exc.code, "message": exc.message}}
