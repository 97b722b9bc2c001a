"""The floor of the queue bench: a bare WebSocket relay served like the hub.

Receivers connect at ``/recv/{n}``; senders at ``/send`` send JSON objects with
``to`` (a list of receivers' numbers). For each message the relay makes one Redis
script call (``EVALSHA`` of a one-line script, over the same redis-py client the hub
uses, to the same Redis), then forwards the text frame unchanged to every receiver
named. So one message costs what no hub can avoid: the transport in, one Redis step,
and the fan-out. It is uvicorn with the hub's WebSocket settings (no compression,
the same size limit, uvicorn's default 20 s ping) on the same event loop, and each
receiver has an outbox drained by its own writer, as the hub's connections do;
everything else the hub does (authentication, the queue) is absent.

    python -m bench.ws_relay PORT REDIS_URL
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.store.redis_conn import connect

OUTBOX_SIZE = 256
# One step: the call and its state in one write, as a hub's press script would.
SCRIPT = "return redis.call('INCR', KEYS[1])"
COUNTER_KEY = "bench:relay:messages"


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
    state = websocket.app.state
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            text = await websocket.receive_text()
            await state.script(keys=[COUNTER_KEY])
            for to in json.loads(text)["to"]:
                outbox = state.outboxes.get(to)
                if outbox is not None:
                    outbox.put_nowait(text)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette, redis_url: str) -> AsyncIterator[None]:
    redis = await connect(redis_url)
    app.state.script = redis.register_script(SCRIPT)
    await app.state.script(keys=[COUNTER_KEY])  # loaded once, so every call is an EVALSHA
    try:
        yield
    finally:
        await redis.aclose()


def create_app(redis_url: str) -> Starlette:
    app = Starlette(
        routes=[WebSocketRoute("/recv/{n:int}", receive), WebSocketRoute("/send", send)],
        lifespan=lambda app: lifespan(app, redis_url),
    )
    app.state.outboxes = {}
    return app


def main(port: int, redis_url: str) -> None:
    uvicorn.run(
        create_app(redis_url), host="127.0.0.1", port=port, log_level="warning",
        ws_per_message_deflate=False, ws_max_size=1024 * 1024, lifespan="on",
    )  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
