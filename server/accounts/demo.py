"""Demo data for a first look: one town, one kiosk, one operator. Seeded only into an
empty Redis, and only by ``yijian demo`` (which ``make run`` uses), never by ``serve``;
and ``serve`` (production) refuses to start while the demo's published login works."""

from __future__ import annotations

from server.accounts import passwords
from server.accounts.accounts import Accounts
from server.settings import HubSettings
from server.store import keys
from server.store.redis_conn import connect

DEMO_TOWN = ("shengtang", "圣堂镇")
DEMO_KIOSK = ("shengtang-k1", "圣堂村一键通", "圣堂村")
DEMO_OPERATOR = ("demo", "yijian-demo")
TOKEN_FILE = "demo-kiosk-token.txt"


async def seed_demo(url: str, settings: HubSettings) -> None:
    redis = await connect(url)
    try:
        accounts = Accounts(redis)
        token_file = settings.data_dir / TOKEN_FILE
        if not await accounts.has_any_town():
            await accounts.add_town(*DEMO_TOWN)
            token = await accounts.add_kiosk(DEMO_KIOSK[0], DEMO_TOWN[0], *DEMO_KIOSK[1:])
            await accounts.add_operator(
                DEMO_OPERATOR[0], DEMO_TOWN[0], "operator", DEMO_OPERATOR[1]
            )
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            token_file.write_text(token + "\n")
            token_file.chmod(0o600)
            print("Seeded demo data: town 圣堂镇, one kiosk, one operator.")
        base = f"http://{settings.host}:{settings.port}"
        print(f"\n  Yijian console: {base}/")
        print(f"  Demo login:     {DEMO_OPERATOR[0]} / {DEMO_OPERATOR[1]}")
        if token_file.exists():
            print("  Demo kiosk:     .venv/bin/yijian kiosk --server "
                  f"{base} --kiosk-id {DEMO_KIOSK[0]} --token $(cat {token_file}) "
                  "--media test --button stdin")  # fmt: skip
        print(flush=True)
    finally:
        await redis.aclose()


async def demo_login_works(url: str) -> bool:
    """Whether the demo operator still signs in with the password this file publishes."""
    redis = await connect(url)
    try:
        stored, disabled = await redis.hmget(keys.operator(DEMO_OPERATOR[0]),
                                             ["password_hash", "disabled"])  # fmt: skip
        if stored is None or disabled == "1":
            return False
        return await passwords.verify(stored, DEMO_OPERATOR[1])
    finally:
        await redis.aclose()
