"""The hub's application factory. Its lifespan opens Redis, the bus and the signalling
hub, keeps them on ``app.state`` and closes them in reverse order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.exceptions
from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

import web_console
from server.api import audit, calls, fleet, presence, reports, staff, town_settings, tracked
from server.api.http_edge import add_security_headers
from server.edge import ws
from server.errors import YijianError, error_body, retry_after
from server.services import open_services
from server.settings import HubSettings
from yijian import __version__

log = logging.getLogger(__name__)
CONSOLE_DIR = Path(web_console.__file__).parent


class Hub(FastAPI):
    """FastAPI, but a handshake on one of the hub's two sockets goes straight to its
    handler (``ws.SOCKETS``), past the HTTP middleware stack and the router: security
    headers, body limits and error pages do not apply to a socket, and an open socket
    holds every frame it went through for as long as it lives. Through the stack that
    was twenty coroutine frames, about a quarter of an idle kiosk's memory."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and (handler := ws.SOCKETS.get(scope["path"])):
            scope["app"] = self  # as Starlette sets it: the handlers read app.state
            await handler(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def create_app(settings: HubSettings, redis_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, redis_url) as services:
            # What the routes and the two sockets use, each under its own name.
            state = app.state
            state.redis, state.accounts, state.towns = (
                services.redis, services.accounts, services.towns)  # fmt: skip
            state.presence, state.calls, state.queue = (
                services.presence, services.calls, services.queue)  # fmt: skip
            state.call_log, state.request_query = services.call_log, services.request_query
            state.requests, state.stats = services.tracking.requests, services.tracking.stats
            state.categories = services.tracking.categories
            state.kiosks, state.consoles = services.kiosks, services.consoles
            yield

    app = Hub(title="Yijian hub", version=__version__, lifespan=lifespan)
    app.state.settings = settings

    @app.exception_handler(YijianError)
    async def domain_error(_request: Request, exc: YijianError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=exc.status, headers=retry_after(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        """Starlette's own refusals (a body it cannot parse, an unknown route, a wrong
        method) in the same shape as every other error."""
        body = {"error": {"code": f"http_{exc.status_code}", "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        message = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in details[:5])
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": message, "details": details}},
            status_code=422,
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        add_security_headers(request, response, settings.trusted_proxies)
        return response

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        try:
            await asyncio.wait_for(request.app.state.redis.ping(), timeout=2)
        except (redis.exceptions.RedisError, OSError, TimeoutError) as exc:
            log.warning("health check: Redis does not answer: %s", exc)  # not told to callers
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    app.include_router(reports.router)  # before /calls/{id} and /requests/{id}
    app.include_router(tracked.router)
    app.include_router(calls.router)
    app.include_router(presence.router)
    app.include_router(town_settings.router)
    app.include_router(fleet.router)  # GET /api/kiosks: the fleet, before staff's kiosk verbs
    app.include_router(staff.router)
    app.include_router(audit.router)
    app.mount("/", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    return app
