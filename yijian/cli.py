"""``yijian``: run the hub, run a kiosk, and administer towns, kiosks and operators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

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
    town = things.add_parser("town").add_subparsers(dest="action", required=True)
    town_add = town.add_parser("add", help="add or rename a town")
    town_add.add_argument("town_id")
    town_add.add_argument("--name", required=True)
    town_set = town.add_parser("set", help="change a queue setting (see docs/queue.md)")
    town_set.add_argument("town_id")
    town_set.add_argument(
        "key", help="ring_timeout_s, max_wait_s, wrap_up_s, grace_s, strategy, ..."
    )
    town_set.add_argument("value")
    town_show = town.add_parser("show", help="print a town's settings")
    town_show.add_argument("town_id")
    kiosk = things.add_parser("kiosk").add_subparsers(dest="action", required=True)
    kiosk_add = kiosk.add_parser("add", help="add a kiosk; prints its secret token last")
    kiosk_add.add_argument("kiosk_id")
    kiosk_add.add_argument("--town", required=True)
    kiosk_add.add_argument("--name", required=True)
    kiosk_add.add_argument("--village", default="")
    kiosk_add.add_argument("--lat", type=float, help="latitude, for the Open311 export")
    kiosk_add.add_argument("--long", type=float, help="longitude, for the Open311 export")
    operator = things.add_parser("operator").add_subparsers(dest="action", required=True)
    op_add = operator.add_parser("add", help="add an operator; the password is read from stdin")
    op_add.add_argument("username")
    op_add.add_argument("--town", required=True)
    op_add.add_argument("--role", choices=["operator", "supervisor", "admin"], default="operator")

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
    from server.redis_conn import RedisUnavailable, resolve_url

    settings = _settings(args)
    url, embedded = resolve_url(settings.redis_url, settings.data_dir)
    try:
        if embedded is not None:
            embedded.start()
        return asyncio.run(work(url))
    except RedisUnavailable as exc:
        return _fail(str(exc))
    finally:
        if embedded is not None:
            embedded.stop()


def _admin(args: argparse.Namespace) -> int:
    from server import keys
    from server.accounts import Accounts
    from server.errors import YijianError
    from server.redis_conn import connect
    from server.towns import Towns

    async def work(url: str) -> int:
        redis = await connect(url)
        accounts = Accounts(redis)
        try:
            if args.thing == "town" and args.action == "add":
                town = await accounts.add_town(args.town_id, args.name)
                print(f"town {town.id} ({town.name}) saved")
            elif args.thing == "town" and args.action == "set":
                await Towns(redis).set(args.town_id, args.key, args.value)
                print(f"town {args.town_id}: {args.key} = {args.value}")
            elif args.thing == "town":
                for key, value in (await Towns(redis).settings(args.town_id)).model_dump().items():
                    print(f"{key} = {value}")
            elif args.thing == "kiosk":
                token = await accounts.add_kiosk(args.kiosk_id, args.town, args.name, args.village)
                where = {k: str(v) for k in ("lat", "long") if (v := getattr(args, k)) is not None}
                if where:
                    await redis.hset(keys.kiosk(args.kiosk_id), mapping=where)
                print(
                    f"kiosk {args.kiosk_id} added to town {args.town}; its token (keep it secret):"
                )
                print(token)
            else:
                password = sys.stdin.readline().rstrip("\r\n")
                await accounts.add_operator(args.username, args.town, args.role, password)
                print(f"operator {args.username} ({args.role}) of town {args.town} saved")
            return 0
        except YijianError as exc:
            return _fail(exc.message)
        finally:
            await redis.aclose()

    return _with_redis(args, work)


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


def _serve(args: argparse.Namespace, demo: bool) -> int:
    import uvicorn

    from server.app import create_app
    from server.demo import seed_demo
    from server.redis_conn import connect

    settings = _settings(args)
    if reason := _port_free(settings.host, settings.port):
        return _fail(reason)

    async def work(url: str) -> int:
        await (await connect(url)).aclose()  # fail here, in one line, not in uvicorn's startup
        if demo:
            await seed_demo(url, settings)
        config = uvicorn.Config(
            create_app(settings, url), host=settings.host, port=settings.port,
            ws_per_message_deflate=False,  # doubles memory per socket for little gain on JSON
            ws_max_size=1024 * 1024,  # larger than our limit, so oversize gets an error reply
            log_level="info", lifespan="on", timeout_graceful_shutdown=5,
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
