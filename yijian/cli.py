"""``yijian``: run the hub, run a kiosk, and administer towns, kiosks and operators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from yijian.admin_cli import add_admin_parser, run_admin

log = logging.getLogger("yijian")


def _redis_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="run or reuse the embedded Redis under this folder (default ./data)",
    )
    where.add_argument(
        "--redis-url", default=None, help="use this Redis instead, e.g. redis://host:6379/0"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yijian", description="Yijian (一键) help line")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, text in (
        ("serve", "run the hub"),
        ("demo", "seed demo data when empty, then run the hub"),
    ):
        serve = sub.add_parser(name, help=text)
        serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
        serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
        _redis_options(serve)

    admin = sub.add_parser("admin", help="add towns, kiosks and operators")
    _redis_options(admin)
    things = admin.add_subparsers(dest="thing", required=True)
    add_admin_parser(things)

    kiosk_cmd = sub.add_parser("kiosk", help="run a kiosk")
    from kiosk_client.cli import add_arguments  # light: aiortc loads only when a kiosk runs

    add_arguments(kiosk_cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "kiosk":
        from kiosk_client.cli import run

        return run(args)
    if args.command == "admin":
        return _admin(args)
    return _serve(args, demo=args.command == "demo")


def _fail(reason: str) -> int:
    print(f"yijian: {reason}", file=sys.stderr)
    return 1


def _settings(args: argparse.Namespace) -> Any:
    from server.settings import HubSettings

    given = {k: v for k, v in vars(args).items()
             if k in ("host", "port", "data_dir", "redis_url") and v is not None}  # fmt: skip
    return HubSettings(**given)


def _with_redis(args: argparse.Namespace, work: Callable[[str], Coroutine[Any, Any, int]]) -> int:
    """Run ``work(url)`` against the configured Redis, starting the embedded one if needed."""
    from server.store.redis_conn import RedisUnavailable, resolve_url

    settings = _settings(args)
    url, embedded = resolve_url(settings.redis_url, settings.data_dir)
    try:
        if embedded is not None:
            embedded.start()
        with asyncio.Runner(loop_factory=_event_loop()) as runner:
            return runner.run(work(url))
    except RedisUnavailable as exc:
        return _fail(str(exc))
    finally:
        if embedded is not None:
            embedded.stop()


def _event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (uvicorn[standard] brings it on Linux),
    as ``uvicorn.run`` itself would choose: its sockets and callbacks cost about half
    of asyncio's own, which is most of a hub's time under load."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _admin(args: argparse.Namespace) -> int:
    return _with_redis(args, lambda url: run_admin(args, url))


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _port_free(host: str, port: int) -> str | None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def _not_for_production(url: str, settings: Any) -> str | None:
    """Why ``serve`` (production) must not start, in one line; None when it may."""
    from server.accounts.demo import DEMO_OPERATOR, demo_login_works

    if not settings.public_origin and settings.host in LOOPBACK:
        # reachable from this machine only: its own address is its public origin
        settings.public_origin = f"http://{settings.host}:{settings.port}"
    if not settings.public_origin:
        return ("set YIJIAN_PUBLIC_ORIGIN to the console's address (e.g. "
                "https://yijian.example.gov.cn); `yijian demo` runs without it")  # fmt: skip
    if await demo_login_works(url):
        return (f"the demo operator {DEMO_OPERATOR[0]!r} still has the demo password; "
                f"change it (yijian admin operator passwd {DEMO_OPERATOR[0]}) or disable it "
                "before serving for real, or run `yijian demo`")  # fmt: skip
    return None


FULL_WALK_EVERY_S = 3600.0


def quiet_collector() -> None:
    """Python's cycle collector, tuned for a hub that holds thousands of sockets. A full
    pass walks every object (about a second for 10,000 kiosks on a small machine, and
    all that time no socket is served), so: it runs after 200 young passes instead of
    10, and what survives one is frozen (never walked again), so the next walks only
    what came since. Once an hour a full pass walks everything again, to free what was
    frozen and has since become garbage. Most garbage here is freed by reference
    counts, not by the collector (docs/design.md)."""
    import gc

    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 200)
    walked = time.monotonic()

    def after_full_pass(phase: str, info: dict[str, int]) -> None:
        nonlocal walked
        if phase != "stop" or info["generation"] != 2:
            return
        if time.monotonic() - walked > FULL_WALK_EVERY_S:
            walked = time.monotonic()
            gc.unfreeze()  # the next full pass walks everything
        else:
            gc.freeze()

    gc.callbacks.append(after_full_pass)


def _serve(args: argparse.Namespace, demo: bool) -> int:
    import uvicorn

    from server.accounts.demo import seed_demo
    from server.app import create_app
    from server.store.redis_conn import connect

    settings = _settings(args)
    if reason := _port_free(settings.host, settings.port):
        return _fail(reason)

    async def work(url: str) -> int:
        await (await connect(url)).aclose()  # fail here, in one line, not in uvicorn's startup
        if demo:
            await seed_demo(url, settings)
        elif problem := await _not_for_production(url, settings):
            return _fail(problem)
        quiet_collector()
        config = uvicorn.Config(
            create_app(settings, url), host=settings.host, port=settings.port,
            ws_per_message_deflate=False,  # doubles memory per socket for little gain on JSON
            ws_max_size=1024 * 1024,  # larger than our limit, so oversize gets an error reply
            log_level="info", lifespan="on", timeout_graceful_shutdown=5,
            proxy_headers=False,  # X-Forwarded-* only from YIJIAN_TRUSTED_PROXIES (http_edge)
        )  # fmt: skip
        server = uvicorn.Server(config)
        await server.serve()
        return 0 if server.started else 1

    # uvicorn shuts down gracefully on SIGTERM or Ctrl-C, then raises the signal again;
    # let that end us through Python, so the embedded Redis is still stopped on the way out.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_quietly)

    return _with_redis(args, work)


if __name__ == "__main__":
    sys.exit(main())
