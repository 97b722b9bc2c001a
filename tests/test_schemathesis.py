"""The OpenAPI document, fuzzed by schemathesis as an anonymous client, an operator and
an admin: no 5xx, every status code and content type the hub answers is declared, and
every answer matches its schema. Bounded: a few examples per operation and identity,
against a hub of its own (its failed logins touch no other test's counters)."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.accounts.accounts import Accounts
from server.store.redis_conn import connect
from tests.support import TIMEOUT

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 8  # per operation, identity and mode: about 1,500 requests in all, ~30 s
PASSWORD = "a long enough password"
# Logging out would end the identity's session for the operations after it; it is
# fuzzed anonymously, where there is nothing to end.
SIGNED_IN_SKIPS = {"POST /api/auth/logout"}


def fuzz(schema: Any, base: str, cookies: dict[str, str], skip: set[str]) -> list[str]:
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in skip:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz_one(operation, mode, base, cookies)
    return failures


def fuzz_one(operation: Any, mode: Any, base: str, cookies: dict[str, str]) -> list[str]:
    """Valid input (``POSITIVE``) and input that breaks the schema (``NEGATIVE``)."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        response = case.call(base_url=base, cookies=cookies, timeout=TIMEOUT)
        case.validate_response(response, checks=CHECKS)

    try:
        one()
    except Unsatisfiable:  # nothing in it can be made invalid (no parameters, no body)
        pass
    except (Exception, BaseExceptionGroup) as exc:  # reported with all the others
        return [f"{operation.label} ({mode.value}): {str(exc)[:600]}"]
    return []


async def test_the_openapi_document_holds_for_anonymous_operator_and_admin(own_hub):
    hub = own_hub(YIJIAN_LOGIN_FAILURES_PER_ACCOUNT="100000",
                  YIJIAN_LOGIN_FAILURES_PER_ADDRESS="100000")  # fmt: skip
    redis = await connect(hub.own_redis.url)
    try:
        accounts = Accounts(redis)
        await accounts.add_town("fuzz", "模糊镇")
        await accounts.add_kiosk("fuzz-k1", "fuzz", "一号点", "石头村")
        for username, role in (("fuzz-op", "operator"), ("fuzz-admin", "admin")):
            await accounts.add_operator(username, "fuzz", role, PASSWORD)  # type: ignore[arg-type]
    finally:
        await redis.aclose()
    schema = schemathesis.openapi.from_url(hub.base + "/openapi.json")
    cookies = {}
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        for username in ("fuzz-op", "fuzz-admin"):
            login = await http.post("/api/auth/login",
                                    json={"username": username, "password": PASSWORD})  # fmt: skip
            cookies[username] = login.cookies["yijian_session"]

    failures = fuzz(schema, hub.base, {}, set())
    for username in ("fuzz-op", "fuzz-admin"):
        session = {"yijian_session": cookies[username]}
        failures += [
            f"as {username}: {f}" for f in fuzz(schema, hub.base, session, SIGNED_IN_SKIPS)
        ]

    assert failures == [], "\n\n".join(failures)
