"""A minimal socket.io client over a raw WebSocket, the widget's own transport.

python-socketio's client needs a newer aiohttp for WebSockets than Rasa 3.6 pins, so the
few packets a chat needs (engine.io v4, socket.io v5) are written here by hand.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional

import websockets

TIMEOUT = 60
QUIET = 1.0  # seconds without a reply that end a turn


class SocketChat:
    """One socket.io connection to the Rasa server, as the widget opens it."""

    def __init__(self, port: int, origin: Optional[str]) -> None:
        """`origin`: the page's origin, as a browser sends it (None: no Origin header)."""
        self.url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        self.origin = origin
        self.socket: Any = None

    async def __aenter__(self) -> SocketChat:
        self.socket = await websockets.connect(  # type: ignore[attr-defined]
            self.url, origin=self.origin, open_timeout=TIMEOUT, max_size=None,
        )
        opened = await asyncio.wait_for(self.socket.recv(), TIMEOUT)
        assert str(opened).startswith("0{"), opened  # engine.io open
        await self.socket.send("40")  # socket.io connect to "/"
        connected = await self.receive()
        assert connected.startswith("40{"), connected
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.socket.close()

    async def receive(self, timeout: float = TIMEOUT) -> str:
        """The next socket.io packet, answering engine.io pings on the way."""
        while True:
            packet = str(await asyncio.wait_for(self.socket.recv(), timeout))
            if packet == "2":  # engine.io ping
                await self.socket.send("3")
                continue
            return packet

    async def emit(self, event: str, data: Any) -> None:
        """Send an event; bytes values travel as a binary attachment, as socket.io does."""
        if isinstance(data, dict) and any(isinstance(v, bytes) for v in data.values()):
            attachments = [v for v in data.values() if isinstance(v, bytes)]
            placeholders = {
                k: ({"_placeholder": True, "num": attachments.index(v)} if isinstance(v, bytes) else v)
                for k, v in data.items()
            }
            await self.socket.send(f"45{len(attachments)}-" + json.dumps([event, placeholders]))
            for attachment in attachments:
                await self.socket.send(attachment)
            return
        await self.socket.send("42" + json.dumps([event, data]))

    async def event(self, name: str, timeout: float = TIMEOUT) -> Any:
        """The data of the next event called `name` (other packets are skipped)."""
        while True:
            packet = await self.receive(timeout)
            if packet.startswith("42"):
                event, *data = json.loads(packet[2:])
                if event == name:
                    return data[0] if data else None

    async def start(self, session_id: str) -> None:
        """Ask for a session, as the widget does on mount."""
        await self.emit("session_request", {"session_id": session_id})
        await self.event("session_confirm")

    async def turn(self, data: Any) -> List[Dict[str, Any]]:
        """Send one `user_uttered` event; the `bot_uttered` replies until a quiet second."""
        await self.emit("user_uttered", data)
        replies = [await self.event("bot_uttered")]
        while True:
            try:
                replies.append(await self.event("bot_uttered", QUIET))
            except asyncio.TimeoutError:
                return replies


async def conversation(
    port: int, origin: Optional[str], items: List[Any], session_id: str, raw: bool = False
) -> List[List[Dict[str, Any]]]:
    """Each item sent as a `user_uttered` event (wrapped with the session id unless `raw`)."""
    async with SocketChat(port, origin) as chat:
        await chat.start(session_id)
        return [
            await chat.turn(item if raw else {"message": item, "session_id": session_id})
            for item in items
        ]
