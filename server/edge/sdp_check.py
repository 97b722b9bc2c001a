"""Checks of what the hub relays between a kiosk and a console: session descriptions
and ICE candidates.

The hub is not a party to the media, but it must not pass on what no honest peer
sends: an SDP without a DTLS fingerprint (media that could be read or changed in
between; RFC 8827 requires one) or with a malformed one, lines that are not SDP,
or a candidate that does not parse. The other side gets only what passed.
"""

# ruff: noqa: E501 - the grammars read best on one line

from __future__ import annotations

import re

from server.errors import BadRequest
from yijian import protocol as p

_LINE = re.compile(r"^[a-z]=[^\x00]*$")
# RFC 8122: hash-func SP fingerprint (upper-case hex pairs joined by ':'); we accept
# either case, as browsers do.
_FINGERPRINT = re.compile(
    r"^a=fingerprint:(sha-1|sha-224|sha-256|sha-384|sha-512) ((?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]{2})$"
)
_DIGEST_BYTES = {"sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64}
# RFC 8839: candidate:foundation component transport priority address port typ type ...
_CANDIDATE = re.compile(
    r"^candidate:[A-Za-z0-9+/]{1,32} \d{1,3} (?:udp|tcp|UDP|TCP) \d{1,10} [A-Za-z0-9.:_-]{1,255} \d{1,5} typ (?:host|srflx|prflx|relay)(?: [\x21-\x7e]+ [\x21-\x7e]+)*$"
)


def check_sdp(sdp: str) -> None:
    lines = sdp.replace("\r\n", "\n").rstrip("\n").split("\n")
    if not lines or lines[0] != "v=0":
        raise BadRequest("an SDP must start with 'v=0'", code="bad_sdp")
    bad = next((line for line in lines if not _LINE.match(line)), None)
    if bad is not None:
        raise BadRequest(f"not an SDP line: {bad[:60]!r}", code="bad_sdp")
    sections: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    if len(sections) < 2:
        raise BadRequest("an SDP without any media section", code="bad_sdp")
    session_has = _fingerprints(sections[0])
    for media in sections[1:]:
        if not session_has and not _fingerprints(media):
            raise BadRequest(
                f"the media section {media[0][:40]!r} has no DTLS fingerprint", code="bad_sdp"
            )


def _fingerprints(lines: list[str]) -> bool:
    found = False
    for line in lines:
        if not line.startswith("a=fingerprint:"):
            continue
        match = _FINGERPRINT.match(line)
        if not match or len(match[2].split(":")) != _DIGEST_BYTES[match[1]]:
            raise BadRequest(f"a malformed DTLS fingerprint: {line[:80]!r}", code="bad_sdp")
        found = True
    return found


def check_candidate(candidate: str) -> None:
    """A trickled candidate; an empty string means the end of candidates."""
    if candidate and not _CANDIDATE.match(candidate):
        raise BadRequest(f"not an ICE candidate: {candidate[:80]!r}", code="bad_candidate")


def check_relayed(msg: p.Sdp | p.Ice) -> None:
    """Refuse a malformed ``sdp`` or ``ice`` message before it is relayed."""
    if isinstance(msg, p.Sdp):
        check_sdp(msg.description.sdp)
    elif msg.candidate is not None:
        check_candidate(msg.candidate.candidate)
