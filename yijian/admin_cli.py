"""``yijian admin``: towns, kiosks and operators, straight on the hub's Redis.

Works whether or not a hub is running on the same data; a change that ends
credentials (a rotated or revoked kiosk, a disabled or changed operator) is
published, so running hubs close the affected sockets at once. Every change goes to
the audit log as done by ``cli`` (``server.accounts.audit``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

ROLES = ["operator", "supervisor", "admin"]


def add_admin_parser(things: Any) -> None:
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
    for action, text in (
        ("rotate", "give a kiosk a new token (printed last); the old one stops working"),
        ("revoke", "refuse a kiosk's token from now on and close its connection"),
    ):
        kiosk.add_parser(action, help=text).add_argument("kiosk_id")

    operator = things.add_parser("operator").add_subparsers(dest="action", required=True)
    op_add = operator.add_parser("add", help="add an operator; the password is read from stdin")
    op_add.add_argument("username")
    op_add.add_argument("--town", required=True)
    op_add.add_argument("--role", choices=ROLES, default="operator")
    operator.add_parser("list", help="list operators").add_argument("--town", default=None)
    for action, text in (
        ("disable", "end an operator's sessions and refuse their logins"),
        ("enable", "let a disabled operator log in again"),
        ("passwd", "set a new password, read from stdin; ends their sessions"),
    ):
        operator.add_parser(action, help=text).add_argument("username")
    op_role = operator.add_parser("role", help="change an operator's role; ends their sessions")
    op_role.add_argument("username")
    op_role.add_argument("role", choices=ROLES)
    op_move = operator.add_parser("move", help="move an operator to another town")
    op_move.add_argument("username")
    op_move.add_argument("town_id")


async def run_admin(args: argparse.Namespace, url: str) -> int:
    from server.accounts.accounts import Accounts
    from server.accounts.audit import CLI
    from server.accounts.staff import Staff
    from server.accounts.towns import Towns
    from server.errors import YijianError
    from server.store import keys
    from server.store.redis_conn import connect

    redis = await connect(url)
    accounts = Accounts(redis)
    staff = Staff(accounts)

    async def audit(action: str, town_id: str | None, target: str, **details: Any) -> None:
        await accounts.audit.record(CLI, action, town_id, target, **details)

    async def town_of(username: str) -> str:
        return (await accounts.operator(username)).town_id

    try:
        match args.thing, args.action:
            case "town", "add":
                town = await accounts.add_town(args.town_id, args.name)
                await audit("town_added", town.id, town.id, name=town.name)
                print(f"town {town.id} ({town.name}) saved")
            case "town", "set":
                await Towns(redis).set(args.town_id, args.key, args.value, admin=True)
                await audit("settings_changed", args.town_id, args.town_id,
                            settings={args.key: args.value})  # fmt: skip
                print(f"town {args.town_id}: {args.key} = {args.value}")
            case "town", "show":
                for key, value in (await Towns(redis).settings(args.town_id)).model_dump().items():
                    print(f"{key} = {value}")
            case "kiosk", "add":
                token = await accounts.add_kiosk(args.kiosk_id, args.town, args.name, args.village)
                where = {k: str(v) for k in ("lat", "long") if (v := getattr(args, k)) is not None}
                if where:
                    await redis.hset(keys.kiosk(args.kiosk_id), mapping=where)
                await audit("kiosk_added", args.town, args.kiosk_id, name=args.name)
                print(
                    f"kiosk {args.kiosk_id} added to town {args.town}; its token (keep it secret):"
                )
                print(token)
            case "kiosk", "rotate":
                token = await accounts.rotate_kiosk(args.kiosk_id)
                await audit("kiosk_rotated", (await accounts.kiosk(args.kiosk_id)).town_id,
                            args.kiosk_id)  # fmt: skip
                print(f"kiosk {args.kiosk_id}: new token (keep it secret; the old one is refused):")
                print(token)
            case "kiosk", "revoke":
                await accounts.revoke_kiosk(args.kiosk_id)
                await audit("kiosk_revoked", (await accounts.kiosk(args.kiosk_id)).town_id,
                            args.kiosk_id)  # fmt: skip
                print(f"kiosk {args.kiosk_id}: token revoked, connection closed")
            case "operator", "add":
                password = sys.stdin.readline().rstrip("\r\n")
                await accounts.add_operator(args.username, args.town, args.role, password)
                await audit("operator_added", args.town, args.username, role=args.role)
                print(f"operator {args.username} ({args.role}) of town {args.town} saved")
            case "operator", "list":
                for op in await staff.list(args.town):
                    state = "disabled" if op["disabled"] else "active"
                    print(f"{op['username']}\t{op['town_id']}\t{op['role']}\t{state}")
            case "operator", "disable" | "enable":
                await staff.set_disabled(args.username, args.action == "disable")
                await audit(f"operator_{args.action}d", await town_of(args.username),
                            args.username)  # fmt: skip
                print(f"operator {args.username} {args.action}d; their sessions have ended")
            case "operator", "passwd":
                password = sys.stdin.readline().rstrip("\r\n")
                await staff.reset_password(args.username, password)
                await audit("operator_password_reset", await town_of(args.username),
                            args.username)  # fmt: skip
                print(f"operator {args.username}: password changed; their sessions have ended")
            case "operator", "role":
                await staff.set_role(args.username, args.role)
                await audit("operator_role_changed", await town_of(args.username),
                            args.username, to=args.role)  # fmt: skip
                print(f"operator {args.username} is now {args.role}; their sessions have ended")
            case "operator", "move":
                old = await town_of(args.username)
                await staff.move(args.username, args.town_id)
                for side in (old, args.town_id):
                    await audit("operator_moved", side, args.username, to=args.town_id,
                                **{"from": old})  # fmt: skip
                print(f"operator {args.username} moved to town {args.town_id}")
        return 0
    except YijianError as exc:
        print(f"yijian: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
