"""How long an operator's session lives: an idle limit, renewed by every use, and an
absolute one, counted from the login (``created`` in the session's hash).

A use is an authenticated HTTP request, and, every few seconds, an open console
(``server.edge.revocation``): an operator at the desk all shift stays signed in, a
closed laptop is signed out ``idle_s`` after its console went. Past ``max_s`` from the
login the session ends whatever its use, and its consoles close (4001). The session's
Redis key carries the idle limit as its TTL, never past the absolute end, so nothing
has to sweep old sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.clock import now_ms


@dataclass(frozen=True)
class SessionClock:
    idle_s: int
    max_s: int

    def ttl_s(self, created_ms: int | str | None, now: int | None = None) -> int:
        """Seconds the session may still live unused; 0 or less: it has ended."""
        if created_ms in (None, ""):
            return 0
        left_ms = int(created_ms) + self.max_s * 1000 - (now_ms() if now is None else now)
        return min(self.idle_s, left_ms // 1000)

    @property
    def first_ttl_s(self) -> int:
        return min(self.idle_s, self.max_s)
