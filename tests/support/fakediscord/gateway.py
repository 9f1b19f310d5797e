"""The gateway websocket: HELLO, IDENTIFY and RESUME, heartbeats, event dispatch, disconnects.

Each IDENTIFY opens a session that keeps every frame sent to it, so a RESUME after a dropped
socket replays what the client missed, as Discord does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.support.fakediscord.world import MESSAGE_CONTENT_INTENT

if TYPE_CHECKING:
    from tests.support.fakediscord.server import FakeDiscord


@dataclass
class _Session:
    id: str
    intents: int
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # frames, replayed on RESUME
    valid: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Gateway:
    """The gateway sessions of the clients logged in to ``fake``, and the ``/gateway`` route."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self._sessions: dict[str, _Session] = {}
        self.identifies = self.resumes = 0
        self.connected = asyncio.Event()  # set while a session is identified or resumed

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The websocket endpoint that ``GET /gateway/bot`` points clients at."""
        router.add_get("/gateway", self.serve)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH (op 0) to every session; kept for replay if its socket is down."""
        for session in list(self._sessions.values()):
            if session.valid:
                await self._dispatch_to(session, event, self._visible(session, event, data))

    async def disconnect(self, *, resumable: bool = True, code: int = 4000) -> None:
        """Drop every socket; unless ``resumable``, the sessions can no longer be resumed."""
        self.connected.clear()
        for session in self._sessions.values():
            session.valid = session.valid and resumable
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=code)

    async def close(self) -> None:
        """Close every socket with 1001 (going away), for shutdown."""
        for session in self._sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """One websocket connection: HELLO, then answer heartbeats, IDENTIFY, RESUME and member requests."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)  # compression is ignored: TEXT frames are never decompressed
        hello = {"op": 10, "d": {"heartbeat_interval": self.fake.heartbeat_interval_ms}}
        await ws.send_str(json.dumps(hello))
        session: _Session | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, d = frame.get("op"), frame.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                session = await self._identify(ws, d)
            elif op == 6:
                session = await self._resume(ws, d)
            elif op == 8 and session is not None:
                await self._member_chunk(session, d)
        if session is not None and session.ws is ws:
            session.ws = None
        return ws

    async def _dispatch_to(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        await self._send(session, frame)

    def _visible(self, session: _Session, event: str, msg: dict[str, Any]) -> dict[str, Any]:
        """Without the MESSAGE_CONTENT intent, guild messages arrive empty (unless by or to the bot)."""
        bot_id = str(self.fake.bot_id)
        if (event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & MESSAGE_CONTENT_INTENT
                or "guild_id" not in msg or msg["author"]["id"] == bot_id
                or any(u["id"] == bot_id for u in msg.get("mentions", []))):
            return msg
        return {**msg, "content": "", "embeds": [], "attachments": [], "components": []}

    async def _send(self, session: _Session, frame: dict[str, Any]) -> None:
        if session.ws is None or session.ws.closed:
            return
        async with session.lock:  # aiohttp websockets do not allow concurrent sends
            with contextlib.suppress(ConnectionError):
                await session.ws.send_str(json.dumps(frame))

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> _Session | None:
        """READY (guilds as unavailable stubs), then a GUILD_CREATE per guild."""
        fake = self.fake
        if d.get("token") != fake.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = _Session(secrets.token_hex(16), int(d.get("intents", 0)), ws)
        self._sessions[session.id] = session
        self.identifies += 1
        await self._dispatch_to(session, "READY", {
            "v": 10, "user": {**fake.users[fake.bot_id], "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g), "unavailable": True} for g in fake.bot_guilds()], "session_id": session.id,
            "resume_gateway_url": fake.gateway_url, "private_channels": [], "relationships": [],
            "application": {"id": str(fake.application_id), "flags": 0}, "shard": d.get("shard", [0, 1])})
        for gid in fake.bot_guilds():
            await self._dispatch_to(session, "GUILD_CREATE", fake.guild_payload(gid))
        self.connected.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> _Session | None:
        """Replay the frames after the client's last ``seq``, then RESUMED; op 9 if it cannot resume."""
        session = self._sessions.get(d.get("session_id", ""))
        if session is None or not session.valid or d.get("token") != self.fake.token:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return None
        session.ws = ws
        self.resumes += 1
        for frame in session.history:
            if frame["s"] > (d.get("seq") or 0):
                await self._send(session, frame)
        await self._dispatch_to(session, "RESUMED", {})
        self.connected.set()
        return session

    async def _member_chunk(self, session: _Session, d: dict[str, Any]) -> None:
        """Answer REQUEST_GUILD_MEMBERS (op 8) with one GUILD_MEMBERS_CHUNK."""
        guild = self.fake.guilds[int(d["guild_id"])]
        wanted, query = {int(u) for u in d.get("user_ids") or []}, (d.get("query") or "").lower()
        members = [m for uid, m in guild["members"].items()
                   if (not wanted or uid in wanted) and m["user"]["username"].lower().startswith(query)]
        await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", {
            "guild_id": str(guild["id"]), "members": members[: d.get("limit") or None], "chunk_index": 0,
            "chunk_count": 1, "nonce": d.get("nonce"), "not_found": []})
