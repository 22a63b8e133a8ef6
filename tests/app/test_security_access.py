"""Cross-conversation access and websocket origins: nobody reads or writes another's chat.

A victim has a chat with something private in it; an attacker holds their own valid token and
tries every way in: forged and re-signed tokens, the victim's id in their own token, expired
and replayed tokens, guessed ids on the websocket, the transcript download and the console API.
Every attempt must be refused and the victim's transcript must be unchanged.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from handoff.gateway import tokens
from handoff.settings import Settings
from tests.app.conftest import SECRET, AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until, is_bot_message
from tests.support.figures import record_figure

PRIVATE = "my card ends 4242 and I live at 12 Harbour Row"
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def _resign(body: str, secret: str) -> str:
    return f"{body}.{tokens._sign(secret.encode(), body)}"


def hostile_tokens(victim: str, victim_token: str, mine: str) -> list[str]:
    """Tokens an attacker can make from their own token, the victim's id and a guessed secret."""
    _, my_cid, my_expiry, my_signature = mine.split(".")
    far = str(int(time.time()) + 86400)
    signature = victim_token.split(".")[3]
    forged: list[str] = [
        # The victim's id in the attacker's own token, keeping the attacker's signature.
        f"v1.{victim}.{my_expiry}.{my_signature}",
        # The victim's token with a later expiry (the signature no longer matches).
        f"v1.{victim}.{far}.{signature}",
        # A signature flipped in one character, truncated, or empty.
        victim_token[:-1] + ("A" if victim_token[-1] != "A" else "B"),
        victim_token[:-5],
        f"v1.{victim}.{far}.",
        # Re-signed with guessable secrets.
        *(_resign(f"v1.{victim}.{far}", s) for s in ("", "secret", "changeme", "harbor")),
        # The victim's token expired an hour ago, signed correctly: a replay of an old token.
        tokens.issue(SECRET, victim, 60, now=time.time() - 3600),
        # Other versions, extra parts, other encodings of the same id.
        f"v2.{victim}.{far}.{signature}",
        f"v1.{victim}.{far}.{signature}.extra",
        f"v1.{victim.upper()}.{my_expiry}.{my_signature}",
        base64.b64encode(victim_token.encode()).decode(),
        # Not a token at all: the bare id, JSON-ish and oversized strings.
        victim,
        f'{{"conversation": "{victim}"}}',
        "v1." + "9" * 500,
        "",
    ]
    # A signature valid for another conversation id (the attacker's), with the victim's id.
    forged.append(f"v1.{victim}.{my_expiry}.{tokens._sign(b'wrong', f'v1.{my_cid}.{my_expiry}')}")
    return [t for t in forged if t != victim_token]


async def _transcript_length(redis_url: str, cid: str) -> int:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return int(await redis.xlen(Keys("ha").log(cid)))
    finally:
        await redis.aclose()


async def _victim(client: TestClient) -> tuple[str, str]:
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "p1", "text": PRIVATE})
    await frames_until(ws, is_bot_message)
    await ws.close()
    return welcome["conversation"], welcome["token"]


async def test_no_token_trick_reaches_another_conversation(
    make_client: AppFactory, redis_url: str
) -> None:
    client = await make_client()
    victim, victim_token = await _victim(client)
    before = await _transcript_length(redis_url, victim)
    attacker, mine = await open_chat(client)
    await attacker.close()
    attempts = refused = 0
    for token in hostile_tokens(victim, victim_token, mine["token"]):
        # The websocket: a hello with the token, or with no token but the victim's id beside it.
        for hello in (
            {"type": "hello", "v": 1, "token": token, "last_seen": "0-0"},
            {"type": "hello", "v": 1, "token": None, "conversation": victim, "last_seen": "0-0"},
        ):
            attempts += 1
            ws = await client.ws_connect("/ws/customer")
            await ws.send_json(hello)
            frames: list[dict[str, Any]] = []
            while True:
                msg = await ws.receive(timeout=3)
                if msg.type != WSMsgType.TEXT:
                    break
                frames.append(msg.json())
                if len(frames) == 1 and frames[0]["type"] == "welcome":
                    # A new, empty chat of their own is the only thing a bad hello gets.
                    await ws.send_json({"type": "ping"})
                    frames.append(await ws.receive_json(timeout=3))
                    break
            await ws.close()
            leaked = [f for f in frames if PRIVATE in str(f) or f.get("conversation") == victim]
            assert not leaked, (token, frames)
            if hello["token"]:
                assert frames and frames[0]["code"] == "token_refused", (token, frames)
            refused += 1
        # The transcript download, as a header and as a query parameter.
        for request in (
            {"headers": {"Authorization": f"Bearer {token}"}},
            {"params": {"token": token}},
        ):
            attempts += 1
            response = await client.get("/api/transcript", **request)  # type: ignore[arg-type]
            assert response.status == 403, (token, response.status)
            assert PRIVATE not in await response.text()
            refused += 1
    # The console API is closed to a customer, whatever they guess.
    for path in (f"/api/conversations/{victim}", "/api/queue", "/api/tickets"):
        attempts += 1
        response = await client.get(path, headers={"Authorization": f"Bearer {victim_token}"})
        assert response.status == 401
        refused += 1
    assert await _transcript_length(redis_url, victim) == before
    assert attempts == refused
    record_figure(
        "security.cross_conversation.refused",
        refused,
        f"of {attempts} attempts",
        "forged, re-signed, expired, replayed and foreign tokens; guessed ids; ws + HTTP",
    )


async def test_guessed_conversation_ids_find_nothing(make_client: AppFactory) -> None:
    client = await make_client()
    victim, _ = await _victim(client)
    guesses = [secrets.token_hex(16) for _ in range(200)] + [victim[:-1] + "0", victim]
    refused = 0
    for cid in guesses:
        # A well-signed token needs the secret; a guessed id alone never opens a chat.
        response = await client.get("/api/transcript", params={"token": cid})
        refused += response.status == 403
        token = tokens.issue("guessed-secret", cid, 3600)
        response = await client.get("/api/transcript", params={"token": token})
        refused += response.status == 403
    assert refused == 2 * len(guesses)
    record_figure(
        "security.guessed_ids.refused",
        refused,
        f"of {2 * len(guesses)} attempts",
        "random 128-bit ids, near misses and the real id, bare or signed with a guessed secret",
    )


async def test_a_token_for_a_conversation_that_expired_is_refused(
    make_client: AppFactory, redis_url: str
) -> None:
    client = await make_client()
    victim, victim_token = await _victim(client)
    redis = Redis.from_url(redis_url, decode_responses=True)
    await redis.delete(Keys("ha").conversation(victim), Keys("ha").log(victim))
    await redis.aclose()
    ws, frame = await open_chat(client, token=victim_token)
    assert frame["type"] == "error" and frame["code"] == "token_refused"
    await ws.close()


# --- origins ---------------------------------------------------------------------------------


BAD_ORIGINS = [
    "https://evil.example",
    "null",
    "http://localhost:8080.evil.example",
    "http://evil.example#http://localhost:8080",
    "http://localhost:8081",
    "https://localhost:8080",
    "http://LOCALHOST:8080 ",
    "http://localhost",
    "",
]


async def test_websockets_from_origins_off_the_allow_list_are_refused(
    make_client: AppFactory,
) -> None:
    shop = "https://shop.example"
    client = await make_client(
        allowed_origins=("http://localhost:8080", shop),
        console_origins=("http://localhost:8080",),
    )
    attempts = refused = 0
    for path in ("/ws/customer", "/ws/agent"):
        for origin in BAD_ORIGINS:
            attempts += 1
            response = await client.get(path, headers={**UPGRADE, "Origin": origin})
            refused += response.status == 403
            assert response.status == 403, (path, origin, response.status)
    # A shop on the list may open chats, but never a console socket: the console is ours alone.
    attempts += 1
    response = await client.get("/ws/agent", headers={**UPGRADE, "Origin": shop})
    assert response.status == 403
    refused += 1
    ws, welcome = await open_chat(client, Origin=shop)
    assert welcome["type"] == "welcome"
    await ws.close()
    ws, welcome = await open_chat(client, Origin="http://localhost:8080/")
    assert welcome["type"] == "welcome"
    await ws.close()
    record_figure(
        "security.origin.refused",
        refused,
        f"of {attempts} attempts",
        "customer and console websockets from origins off the allow-list",
    )


def test_default_allow_list_is_the_service_itself_plus_configured_shops() -> None:
    env = {
        "HANDOFF_SECRET": "x" * 32,
        "HANDOFF_PORT": "9000",
        "HANDOFF_PUBLIC_URL": "https://help.harbor.example/",
        "SHOP_ORIGINS": "https://harbor.example, https://www.harbor.example/",
    }
    settings = Settings.from_env(env)
    own = ("https://help.harbor.example", "http://localhost:9000", "http://127.0.0.1:9000")
    assert settings.allowed_origins == (
        *own,
        "https://harbor.example",
        "https://www.harbor.example",
    )
    assert settings.console_origins == own
    explicit = Settings.from_env({**env, "ALLOWED_ORIGINS": "https://only.example"})
    assert explicit.allowed_origins == ("https://only.example",)
    assert explicit.console_origins == own
