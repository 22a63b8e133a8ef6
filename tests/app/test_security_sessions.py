"""Console sessions under attack: password guessing, sessions that must end, CSRF, roles.

The routes checked for CSRF and roles are enumerated from the running app and its OpenAPI
document (handoff/openapi.yaml), so a route added later is covered without editing this file.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from handoff.console.accounts import ROLES, Accounts
from handoff.conversations.keys import Keys
from handoff.web import openapi
from tests.app.conftest import AppFactory
from tests.support.clients import PASSWORD, login
from tests.support.figures import record_figure

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
async def accounts(redis_url: str) -> AsyncIterator[Accounts]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    yield Accounts(redis, Keys("ha"))
    await redis.aclose()


def concrete(path: str) -> str:
    """A request path for a route template (`/api/faq/topics/{key}` -> `.../probe`)."""
    return re.sub(r"\{[^}]+\}", "probe", path)


async def from_address(client: TestClient, address: str) -> aiohttp.ClientSession:
    """A client session whose connections come from another loopback address (another IP)."""
    return aiohttp.ClientSession(
        base_url=str(client.make_url("/")),
        connector=aiohttp.TCPConnector(local_addr=(address, 0)),
    )


# --- password guessing -------------------------------------------------------------------------


async def test_parallel_password_guesses_cannot_pass_the_limit(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client(login_failures_allowed=5)
    await accounts.create("ada", PASSWORD)
    # The limit counts per clock minute: a burst and the attempt after it must fall in one
    # minute for "locked for the minute" to hold, so start away from a minute's end.
    if time.time() % 60 > 45:
        await asyncio.sleep(60.5 - time.time() % 60)
    guesses = [
        client.post("/api/login", json={"username": "ada", "password": f"guess-{i}"})
        for i in range(60)
    ]
    statuses = [r.status for r in await asyncio.gather(*guesses)]
    checked = statuses.count(401)
    # Five per one-minute window; a burst straddling the minute's end may meet two windows.
    assert 1 <= checked <= 10 and statuses.count(429) == 60 - checked
    # Locked for the minute: even the right password is refused, so guessing gains nothing.
    right = await client.post("/api/login", json={"username": "ada", "password": PASSWORD})
    assert right.status == 429
    assert (await right.json())["error"] == "too_many_attempts"
    record_figure(
        "security.login.parallel_guesses_checked",
        checked,
        "of 60 parallel guesses (limit 5/min)",
        "wrong passwords for one account sent at once; the rest got 429",
    )


async def test_guessing_from_one_address_is_limited_without_locking_out_others(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client(login_failures_allowed=5)
    for name in ("bea", "cal"):
        await accounts.create(name, PASSWORD)
    attacker = await from_address(client, "127.0.0.2")
    colleague = await from_address(client, "127.0.0.3")
    try:
        statuses = []
        for i in range(20):
            # A different user name each time: only the per-address limit can stop this.
            async with attacker.post(
                "/api/login", json={"username": f"user{i}", "password": "guess"}
            ) as response:
                statuses.append(response.status)
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        async with attacker.post(
            "/api/login", json={"username": "bea", "password": PASSWORD}
        ) as response:
            assert response.status == 429
        # Someone else, from another address, logs in as usual.
        async with colleague.post(
            "/api/login", json={"username": "cal", "password": PASSWORD}
        ) as response:
            assert response.status == 200
        # A right password takes its attempt back: logging in twice never locks anyone out.
        for _ in range(8):
            async with colleague.post(
                "/api/login", json={"username": "cal", "password": PASSWORD}
            ) as response:
                assert response.status == 200
    finally:
        await attacker.close()
        await colleague.close()
    record_figure(
        "security.login.per_address_refused",
        statuses.count(429),
        "of 20 guesses from one address (limit 5/min)",
        "20 user names from one address; another address was unaffected",
    )


async def test_login_refuses_a_cross_site_form_post(make_client: AppFactory) -> None:
    client = await make_client()
    # A form on another site can POST text/plain without a preflight; JSON it cannot send.
    response = await client.post(
        "/api/login",
        data='{"username": "ada", "password": "x"}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status == 415
    assert (await response.json())["error"] == "json_required"


# --- sessions that must end --------------------------------------------------------------------


async def _console(client: TestClient, session: dict[str, Any]) -> Any:
    ws = await client.ws_connect("/ws/agent", headers=session["cookie"])
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    return ws


async def _ended_within(ws: Any, seconds: float) -> float:
    """Seconds until the socket got `session_ended` and closed (without sending anything)."""
    started = time.monotonic()
    codes = []
    while True:
        msg = await ws.receive(timeout=seconds)
        if msg.type == WSMsgType.TEXT:
            frame = msg.json()
            if frame.get("type") == "error":
                codes.append(frame["code"])
            continue
        assert msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}
        assert "session_ended" in codes
        return time.monotonic() - started


@pytest.mark.parametrize("how", ["logout", "password"])
async def test_logout_and_password_change_end_every_session_and_socket(
    make_client: AppFactory, accounts: Accounts, how: str
) -> None:
    first = await make_client()
    second = await make_client()  # another replica, sharing Redis
    await accounts.create("dee", PASSWORD)
    laptop = await login(first, "dee")
    phone = await login(second, "dee")
    sockets = [await _console(first, laptop), await _console(second, phone)]
    if how == "logout":
        response = await first.post("/api/logout", headers=laptop["headers"])
    else:
        response = await first.post(
            "/api/password",
            json={"current_password": PASSWORD, "new_password": "a new long passphrase"},
            headers=laptop["headers"],
        )
    assert response.status == 200, await response.text()
    assert (await response.json())["sessions_ended"] == 2
    waits = [await _ended_within(ws, 3.0) for ws in sockets]
    for client, session in ((first, laptop), (second, phone)):
        me = await client.get("/api/me", headers=session["cookie"])
        assert me.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws/agent", headers=session["cookie"])
        assert refused.value.status == 401
    if how == "password":
        old = await first.post("/api/login", json={"username": "dee", "password": PASSWORD})
        assert old.status == 401
        await login(first, "dee", "a new long passphrase")
    record_figure(
        f"security.sessions.{how}_socket_close_ms",
        round(max(waits) * 1000),
        "ms (slowest of 2 consoles on 2 replicas)",
        f"{how} ends every session; open console sockets closed without any frame from them",
    )


async def _end_every_session(client: TestClient, how: str, name: str) -> dict[str, Any]:
    """The agent, on a browser of their own, logs out everywhere or changes their password."""
    own = await login(client, name)
    if how == "logout":
        response = await client.post("/api/logout", headers=own["headers"])
    else:
        response = await client.post(
            "/api/password",
            json={"current_password": PASSWORD, "new_password": "a new long passphrase"},
            headers=own["headers"],
        )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


@pytest.mark.parametrize("how", ["logout", "password"])
async def test_a_session_in_use_is_ended_long_after_its_login(
    make_client: AppFactory, accounts: Accounts, how: str
) -> None:
    """A stolen cookie kept in use outlives the day it was logged in with; logging out
    everywhere or changing the password must still end it. The account's list of sessions is
    given a short life here, standing in for the session lifetime that passed since the login."""
    client = await make_client()
    await accounts.create("fay", PASSWORD)
    stolen = await login(client, "fay")
    listed = accounts.keys.agent_sessions("fay")
    lifetime = 0.3
    await accounts.redis.pexpire(listed, round(lifetime * 1000))
    until = time.monotonic() + lifetime
    assert (await client.get("/api/me", headers=stolen["cookie"])).status == 200
    # The list's own lifetime passes, without a use that would list the session again.
    await asyncio.sleep(until - time.monotonic() + 0.1)
    ended = await _end_every_session(client, how, "fay")
    assert ended["sessions_ended"] == 2
    assert (await client.get("/api/me", headers=stolen["cookie"])).status == 401


async def test_a_session_missing_from_its_accounts_list_is_listed_again_when_used(
    make_client: AppFactory, accounts: Accounts
) -> None:
    """Sessions whose list had already expired (as it did twelve hours after a login, before
    the list slid with its sessions) are listed again on their next use, so ending every
    session reaches them too."""
    client = await make_client()
    await accounts.create("gus", PASSWORD)
    stolen = await login(client, "gus")
    await accounts.redis.delete(accounts.keys.agent_sessions("gus"))
    assert (await client.get("/api/me", headers=stolen["cookie"])).status == 200
    ended = await _end_every_session(client, "password", "gus")
    assert ended["sessions_ended"] == 2
    assert (await client.get("/api/me", headers=stolen["cookie"])).status == 401


async def test_password_change_needs_the_current_password(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client()
    await accounts.create("eve", PASSWORD)
    session = await login(client, "eve")
    wrong = await client.post(
        "/api/password",
        json={"current_password": "not it at all", "new_password": "stolen session pw"},
        headers=session["headers"],
    )
    assert wrong.status == 403
    short = await client.post(
        "/api/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=session["headers"],
    )
    assert short.status == 400 and "8 characters" in (await short.json())["message"]
    assert (await client.get("/api/me", headers=session["cookie"])).status == 200


# --- CSRF and roles on every route -------------------------------------------------------------


async def test_every_state_changing_request_needs_the_csrf_token(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client()
    await accounts.create("root", PASSWORD, role="admin")
    routes = sorted(r for r in openapi.app_routes(client.server.app) if r[0] in UNSAFE)
    assert len(routes) >= 3, routes  # login, logout, password at least
    checked = 0
    for method, path in routes:
        session = await login(client, "root")
        for headers in (session["cookie"], {**session["cookie"], "X-CSRF-Token": "forged"}):
            response = await client.request(method, concrete(path), json={}, headers=headers)
            if path == "/api/login":
                # The login itself has no session to protect; it demands JSON instead (above).
                assert response.status in {400, 401}, (method, path, response.status)
                continue
            body = await response.json()
            assert response.status == 403 and body["error"] == "csrf", (method, path, body)
            checked += 1
        # The session is still alive: a refused request changed nothing.
        assert (await client.get("/api/me", headers=session["cookie"])).status == 200
    record_figure(
        "security.csrf.refused",
        checked,
        f"requests ({len(routes) - 1} state-changing routes x no/forged token)",
        "every POST/PUT/PATCH/DELETE route of the app, enumerated from its router",
    )


async def test_roles_are_enforced_on_every_route_that_names_them(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client()
    served = openapi.app_routes(client.server.app)
    restricted = {
        key: op["x-roles"]
        for key, op in openapi.operations().items()
        if "x-roles" in op and key in served
    }
    assert ("GET", "/api/queue") in restricted
    sessions = {}
    for role in ROLES:
        await accounts.create(f"{role}1", PASSWORD, role=role)
        sessions[role] = await login(client, f"{role}1")
    refused = 0
    for (method, path), roles in sorted(restricted.items()):
        for role in ROLES:
            if role in roles or role == "admin":
                continue
            response = await client.request(
                method, concrete(path), json={}, headers=sessions[role]["headers"]
            )
            assert response.status == 403, (role, method, path, response.status)
            refused += 1
        # Nobody without a session gets anywhere.
        anonymous = await client.request(method, concrete(path), json={})
        assert anonymous.status in {401, 403}, (method, path, anonymous.status)
    record_figure(
        "security.roles.refused",
        refused,
        f"requests to {len(restricted)} role-restricted routes by the wrong role",
        "roles from x-roles in handoff/openapi.yaml, routes from the app's router",
    )
