"""The hub relays only session descriptions with a DTLS fingerprint, and candidates
that parse; the other side never sees the rest."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from server.edge.sdp_check import check_candidate, check_sdp
from server.errors import BadRequest
from tests.support import fake_sdp


def without_fingerprint(sdp: str) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if "fingerprint" not in line)


def with_fingerprint(sdp: str, value: str) -> str:
    return "".join(value + "\r\n" if "a=fingerprint" in line else line
                   for line in sdp.splitlines(keepends=True))  # fmt: skip


GOOD = fake_sdp("offer", "good")["sdp"]
BAD_SDPS = {
    "no fingerprint": without_fingerprint(GOOD),
    "short digest": with_fingerprint(GOOD, "a=fingerprint:sha-256 AB:CD:EF"),
    "unknown hash": with_fingerprint(GOOD, "a=fingerprint:md5 " + ":".join(["AB"] * 16)),
    "not hex": with_fingerprint(GOOD, "a=fingerprint:sha-256 " + ":".join(["ZZ"] * 32)),
    "not sdp": "hello, operator",
    "no media": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
}
BAD_CANDIDATES = ["candidate:1 1 udp 1 192.0.2.7 50000 typ sneaky", "<script>", "candidate:"]


async def test_a_real_aiortc_offer_passes():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    pc.addTransceiver("video")
    try:
        await pc.setLocalDescription(await pc.createOffer())
        check_sdp(pc.localDescription.sdp)
    finally:
        await pc.close()


@pytest.mark.parametrize("sdp", BAD_SDPS.values(), ids=BAD_SDPS.keys())
def test_malformed_descriptions_are_refused(sdp):
    with pytest.raises(BadRequest) as refused:
        check_sdp(sdp)
    assert refused.value.code == "bad_sdp"


async def test_the_hub_refuses_and_does_not_relay_a_bad_sdp_or_candidate(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town()
    console = await operator_ws(town.operators[0])
    await console.recv_type("welcome")
    await console.send({"type": "set_availability", "state": "available"})
    await console.recv_type("availability")
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "relay-check-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await console.recv_type("ring")
    await console.send({"type": "answer", "call_id": call_id})
    await console.recv_type("answered")
    await kiosk.recv_type("call_answered")

    refusals = []
    for name, sdp in BAD_SDPS.items():
        await kiosk.send({"type": "sdp", "call_id": call_id, "ref": name,
                          "description": {"type": "offer", "sdp": sdp}})  # fmt: skip
        refusals.append(await kiosk.recv_type("error"))
    for i, candidate in enumerate(BAD_CANDIDATES):
        await console.send({"type": "ice", "call_id": call_id, "ref": f"c{i}",
                            "candidate": {"candidate": candidate, "sdpMid": "0"}})  # fmt: skip
        refusals.append(await console.recv_type("error"))
    await kiosk.send({"type": "sdp", "call_id": call_id, "description": fake_sdp("offer", "ok")})
    relayed = await console.recv_type("sdp")
    await console.send({"type": "ice", "call_id": call_id, "candidate": None})
    end_of_candidates = await kiosk.recv_type("ice")

    codes = [r["code"] for r in refusals]
    assert codes == ["bad_sdp"] * len(BAD_SDPS) + ["bad_candidate"] * len(BAD_CANDIDATES)
    assert relayed["description"]["sdp"] == fake_sdp("offer", "ok")["sdp"]
    assert end_of_candidates["candidate"] is None


def test_candidates_pass_as_browsers_and_aiortc_write_them_and_others_do_not():
    good = [
        "",  # end of candidates
        "candidate:842163049 1 udp 1677729535 203.0.113.4 46154 typ srflx raddr 0.0.0.0 "
        "rport 0 generation 0 ufrag sXP5 network-cost 999",
        "candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 fd00::2 38959 typ host",
        "candidate:3 1 udp 2122262783 7a3c4b9e-1f0d-4d1a-9c1e-123456789abc.local 54321 typ host",
        "candidate:4 1 tcp 1518280447 192.0.2.8 9 typ host tcptype active",
    ]
    for candidate in good:
        check_candidate(candidate)
    codes = []
    for candidate in BAD_CANDIDATES:
        with pytest.raises(BadRequest) as refused:
            check_candidate(candidate)
        codes.append(refused.value.code)
    assert codes == ["bad_candidate"] * len(BAD_CANDIDATES)
