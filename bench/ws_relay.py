"""The floor of the queue bench: a bare WebSocket relay served like the hub.

Receivers connect at ``/recv/{n}``; senders at ``/send`` send JSON objects with a
``to`` (a receiver's number), and the relay forwards each text frame unchanged. It is
uvicorn with the hub's WebSocket settings (no compression, the same size limit) on the
same loop, and each receiver has an outbox drained by its own writer, as the hub's
connections do; everything the hub adds (authentication, Redis, the queue) is absent.

    python -m bench.ws_relay PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

OUTBOX_SIZE = 256


async def receive(websocket: WebSocket) -> None:
    await websocket.accept()
    outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_SIZE)
    number = int(websocket.path_params["n"])
    outboxes: dict[int, asyncio.Queue[str]] = websocket.app.state.outboxes
    outboxes[number] = outbox

    async def write() -> None:
        while True:
            await websocket.send_text(await outbox.get())

    writer = asyncio.create_task(write())
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()  # receivers only listen; this sees the close
    finally:
        outboxes.pop(number, None)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)


async def send(websocket: WebSocket) -> None:
    await websocket.accept()
    outboxes: dict[int, asyncio.Queue[str]] = websocket.app.state.outboxes
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            text = await websocket.receive_text()
            outbox = outboxes.get(json.loads(text)["to"])
            if outbox is not None:
                outbox.put_nowait(text)


def create_app() -> Starlette:
    app = Starlette(
        routes=[WebSocketRoute("/recv/{n:int}", receive), WebSocketRoute("/send", send)]
    )
    app.state.outboxes = {}
    return app


def main(port: int) -> None:
    uvicorn.run(
        create_app(), host="127.0.0.1", port=port, log_level="warning",
        ws_per_message_deflate=False, ws_max_size=1024 * 1024,
    )  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]))
