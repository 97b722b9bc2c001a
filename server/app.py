"""The hub's application factory. Its lifespan opens Redis, the bus and the signalling
hub, keeps them on ``app.state`` and closes them in reverse order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

import web_console
from server import api, api_presence, api_reports, api_requests, api_settings, tracking, ws
from server.accounts import Accounts
from server.bus import Bus
from server.calllog import CallLog
from server.calls import CallStore
from server.errors import YijianError, error_body, retry_after
from server.http_edge import add_security_headers
from server.redis_conn import HUB_CLIENT_NAME, connect
from server.request_query import RequestQuery
from server.retention import Retention
from server.settings import HubSettings
from server.signalling import SignallingHub
from server.throttle import LoginThrottle
from yijian import __version__

log = logging.getLogger(__name__)
CONSOLE_DIR = Path(web_console.__file__).parent


CLOSE_TIMEOUT_S = 5.0


async def _bounded_close(name: str, close: Callable[[], Awaitable[None]]) -> None:
    """Close one resource; a stuck close is logged with what is still running, and
    shutdown goes on rather than hang."""
    try:
        await asyncio.wait_for(close(), CLOSE_TIMEOUT_S)
    except TimeoutError:
        stuck = [
            f"{task.get_name()}: {task.get_stack(limit=3)}"
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task()
        ]
        log.error("closing the %s took over %.0f s; running: %s", name, CLOSE_TIMEOUT_S, stuck)


def create_app(settings: HubSettings, redis_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = await connect(redis_url, client_name=HUB_CLIENT_NAME)
        bus = Bus(redis)
        await bus.start()
        throttle = LoginThrottle(redis, per_account=settings.login_failures_per_account,
                                 per_address=settings.login_failures_per_address,
                                 window_s=settings.login_window_s)  # fmt: skip
        accounts = Accounts(redis, settings.session_ttl_s, throttle)
        calls = CallStore(redis)
        tracked = tracking.wire(redis, calls)  # requests and the numbers (docs/requests.md)
        hub = SignallingHub(settings, accounts, calls, bus)
        hub.tracking = tracked  # the kiosk's rating
        await hub.start()
        app.state.redis, app.state.accounts, app.state.calls = redis, accounts, calls
        app.state.call_log, app.state.hub = CallLog(redis), hub
        app.state.requests, app.state.stats = tracked.requests, tracked.stats
        app.state.town_configs, app.state.request_query = tracked.towns, RequestQuery(redis)
        retention = Retention(redis, settings.retention_days, settings.retention_interval_s,
                              catch_up=tracked.catch_up)  # fmt: skip
        await retention.start()
        try:
            yield
        finally:
            for name, close in (("retention", retention.close), ("team watch", hub.consoles.close),
                                ("hub", hub.close), ("bus", bus.close),
                                ("redis", redis.aclose)):  # fmt: skip
                await _bounded_close(name, close)

    app = FastAPI(title="Yijian hub", version=__version__, lifespan=lifespan)
    app.state.settings = settings

    @app.exception_handler(YijianError)
    async def domain_error(_request: Request, exc: YijianError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=exc.status, headers=retry_after(exc))

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

    app.include_router(api_reports.router)  # before api's /calls/{id} and /requests/{id}
    app.include_router(api_requests.router)
    app.include_router(api.router)
    app.include_router(api_presence.router)
    app.include_router(api_settings.router)
    app.include_router(ws.router)
    app.mount("/", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    return app
