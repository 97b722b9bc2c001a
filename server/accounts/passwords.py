"""Password hashing: argon2id, on threads, with a bound on the work in flight.

argon2 takes ~0.1-0.2 s of CPU and 64 MiB per check. It runs on a small thread pool
(the library releases the GIL), never on the event loop, and at most ``MAX_IN_FLIGHT``
checks may wait or run at once: past that a login is answered ``busy`` (503 with
``Retry-After``) at once, so a flood of logins cannot queue up minutes of CPU.
Throttling (``server.accounts.throttle``) turns most such floods away before any hash.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import Busy

_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
# Verified against when a username is unknown, so a wrong name costs as long as a
# wrong password and the response time does not tell which one was wrong.
DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_CORES = os.cpu_count() or 2
_threads = ThreadPoolExecutor(max_workers=_CORES, thread_name_prefix="argon2")
# Checks running or waiting for a thread; each waits at most a few checks' time.
MAX_IN_FLIGHT = 4 * _CORES
_in_flight = 0
T = TypeVar("T")


def is_argon2(stored: str) -> bool:
    return stored.startswith("$argon2")


def _verify_now(hash_: str, secret: str) -> bool:
    try:
        return _hasher.verify(hash_, secret)
    except (VerificationError, InvalidHashError):
        return False


async def _bounded(fn: Callable[..., T], *args: str) -> T:
    global _in_flight
    if _in_flight >= MAX_IN_FLIGHT:
        raise Busy("the hub is busy checking other logins; try again in a second")
    _in_flight += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_threads, fn, *args)
    finally:
        _in_flight -= 1


async def verify(hash_: str, secret: str) -> bool:
    return await _bounded(_verify_now, hash_, secret)


async def hash_password(secret: str) -> str:
    return await _bounded(_hasher.hash, secret)
