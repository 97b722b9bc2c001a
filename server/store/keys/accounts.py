"""Redis keys of the accounts: towns, kiosks, operators, their sessions and logins
(owned by ``server.accounts``). Kept until an administrator removes the account;
sessions and login throttles expire."""

from __future__ import annotations

from server.store.keys.prefix import PREFIX

# set of town ids. Written by the admin CLI.
TOWNS = PREFIX + "towns"
# set of kiosk ids.
KIOSKS = PREFIX + "kiosks"
# set of operator usernames.
OPERATORS = PREFIX + "operators"
# string: the key of the kiosk tokens' HMAC-SHA-256, 32 random bytes in hex, made on
# first use (SET NX). Kept for good: without it no kiosk token verifies.
TOKEN_KEY = PREFIX + "secret:token_key"


def town(town_id: str) -> str:
    """hash: name and settings of a town."""
    return f"{PREFIX}town:{town_id}"


def town_operators(town_id: str) -> str:
    """set of the town's operator usernames. Written by the admin CLI."""
    return f"{PREFIX}town:{town_id}:operators"


def kiosk(kiosk_id: str) -> str:
    """hash: town, name, village, token_hash (HMAC-SHA-256 under TOKEN_KEY; an older
    argon2id hash is upgraded at the next handshake), epoch (bumped by every rotation
    or revocation: a socket opened under another epoch is closed), revoked ("1"),
    revoked_hash (the revoked token's hash, so that token is told ``kiosk_revoked``)."""
    return f"{PREFIX}kiosk:{kiosk_id}"


def operator(username: str) -> str:
    """hash: town, role, password_hash (argon2id), epoch (bumped by every change of
    password, role, town or state: sessions and sockets of an older epoch end),
    disabled ("1")."""
    return f"{PREFIX}operator:{username}"


def operator_sessions(username: str) -> str:
    """set of session token hashes of the operator, so a change can end them all.
    Members whose session expired are removed at the next login."""
    return f"{PREFIX}operator:{username}:sessions"


def session(token_hash: str) -> str:
    """hash: username, created (ms), epoch (the operator's at login); expires after the
    session TTL. Keyed by sha256 of the cookie."""
    return f"{PREFIX}session:{token_hash}"


def login_failures(scope: str, value: str) -> str:
    """string (integer): failed logins for an account (scope "user") or from an
    address ("addr") in the current window; expires with the window."""
    return f"{PREFIX}throttle:login:{scope}:{value}"
