"""The browser's side of the first-frame bench: the console's answer timed to the
first frame it shows, and the floor, the same aiortc-to-Chromium call with the
signalling handed over in-process.

Both clocks are the page's own (``performance.now()``): from the click on 接听 (the
floor: from taking the offer) to the ``presentationTime`` of the first frame
``requestVideoFrameCallback`` reports on the ``<video>`` that shows the kiosk.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page, Route

from kiosk_client.capture import Capture
from kiosk_client.peer import PeerSession
from kiosk_client.sink import FrameCounts
from yijian.protocol import IceCandidate, SessionDescription

# The page never waits longer than this for a first frame; the bench waits a little more.
FRAME_TIMEOUT_MS = 15_000

# The console's own button and <video>: what an operator clicks and sees.
ANSWER_JS = """async (timeoutMs) => {
  const video = document.querySelector('[data-testid="remote-video"]');
  const first = new Promise((resolve, reject) => {
    video.requestVideoFrameCallback((_now, meta) => resolve(meta.presentationTime));
    setTimeout(() => reject(new Error("no video frame within " + timeoutMs + " ms")), timeoutMs);
  });
  const t0 = performance.now();
  document.querySelector('[data-testid="answer-call"]').click();
  return (await first) - t0;
}"""

# The floor does at its "answer" what the console does at its click and on the
# kiosk's offer (web_console/call.js): the camera and microphone, a fresh peer
# connection, the offer, the answer sent on, the candidates trickled.
FLOOR_PAGE = """<!doctype html><meta charset="utf-8"><title>floor</title>
<video id="remote" autoplay playsinline muted style="width:640px;height:480px"></video>
<script>
window.floorCall = async (offerSdp, timeoutMs) => {
  const video = document.getElementById("remote");
  const first = new Promise((resolve, reject) => {
    video.requestVideoFrameCallback((_now, meta) => resolve(meta.presentationTime));
    setTimeout(() => reject(new Error("no video frame within " + timeoutMs + " ms")), timeoutMs);
  });
  const t0 = performance.now();
  const stream = await navigator.mediaDevices.getUserMedia(
    { audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.floorPc = pc;
  window.floorStream = stream;
  const remote = new MediaStream();
  video.srcObject = remote;
  pc.ontrack = (ev) => { remote.addTrack(ev.track); video.play().catch(() => {}); };
  pc.onicecandidate = (ev) => {
    if (ev.candidate && !ev.candidate.candidate) return;
    window.floorIce(ev.candidate ? { candidate: ev.candidate.candidate,
      sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex } : null);
  };
  await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  await pc.setLocalDescription(await pc.createAnswer());
  window.floorAnswer(pc.localDescription.sdp);
  return (await first) - t0;
};
window.floorEnd = () => {
  if (window.floorPc) window.floorPc.close();
  if (window.floorStream) for (const track of window.floorStream.getTracks()) track.stop();
  window.floorPc = window.floorStream = null;
  document.getElementById("remote").srcObject = null;
};
</script>"""
# Any loopback origin is a secure context (navigator.mediaDevices exists); the page is
# served by Playwright's router, so nothing listens there.
FLOOR_URL = "http://127.0.0.1:9/yijian-first-frame-floor"


async def answer_to_first_frame(page: Page) -> float:
    """Click 接听 on a ringing console; ms until the kiosk's first frame shows."""
    wait_s = FRAME_TIMEOUT_MS / 1000 + 5
    return float(await asyncio.wait_for(page.evaluate(ANSWER_JS, FRAME_TIMEOUT_MS), wait_s))


class Floor:
    """The floor's page and the kiosk's own aiortc peer (``PeerSession``) on an open
    capture, the answer and the browser's candidates applied in order, one at a time,
    as the kiosk's controller applies them."""

    def __init__(self, page: Page, capture: Capture) -> None:
        self.page, self.capture = page, capture
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    @classmethod
    async def open(cls, page: Page, capture: Capture) -> Floor:
        floor = cls(page, capture)

        async def serve(route: Route) -> None:
            await route.fulfill(body=FLOOR_PAGE, content_type="text/html")

        await page.route(FLOOR_URL, serve)
        await page.expose_function("floorAnswer", lambda sdp: floor._inbox.put_nowait(("a", sdp)))
        await page.expose_function("floorIce", lambda cand: floor._inbox.put_nowait(("c", cand)))
        await page.goto(FLOOR_URL)
        await capture.open()
        return floor

    async def call(self, i: int) -> float:
        """One call, the offer gathered before the clock starts (as the kiosk's is
        while queued); ms from taking the offer to the first frame shown."""
        peer = PeerSession(f"floor-{i}", [], self.capture.tracks(), FrameCounts(), None,
                           lambda _peer, _state: None)  # fmt: skip
        self._inbox = asyncio.Queue()
        applying = asyncio.create_task(apply(peer, self._inbox), name="floor-signalling")
        try:
            offer = await peer.create_offer()
            ms = await asyncio.wait_for(
                self.page.evaluate("([sdp, t]) => window.floorCall(sdp, t)",
                                   [offer.sdp, FRAME_TIMEOUT_MS]),
                FRAME_TIMEOUT_MS / 1000 + 5,
            )  # fmt: skip
            return float(ms)
        finally:
            applying.cancel()
            await asyncio.gather(applying, return_exceptions=True)
            await self.page.evaluate("() => window.floorEnd()")
            await peer.close()

    async def close(self) -> None:
        await self.capture.close()


async def apply(peer: PeerSession, inbox: asyncio.Queue[tuple[str, Any]]) -> None:
    while True:
        kind, value = await inbox.get()
        if kind == "a":
            await peer.accept_answer(SessionDescription(type="answer", sdp=value))
        else:
            await peer.add_candidate(None if value is None else IceCandidate(**value))
