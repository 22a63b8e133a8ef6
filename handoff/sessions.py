"""Console sessions: login, logout, who am I, CSRF protection and role checks.

A session is a random id in the `ha_session` cookie (HttpOnly, SameSite=Strict, Secure behind
HTTPS) naming a Redis hash {user, csrf}. Every state-changing request except the login itself
must echo the session's CSRF token in `X-CSRF-Token`. Wrong passwords are rate-limited per user
name and per address. Changing a password or removing an account ends all the user's sessions.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from handoff.accounts import Account, Accounts
from handoff.state import AppState, app_state
from handoff.store import now_ms

COOKIE = "ha_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_EXEMPT = {"/api/login"}


@dataclass(frozen=True)
class SessionAgent:
    """The logged-in agent behind a request or a console socket."""

    account: Account
    sid: str
    csrf: str

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def role(self) -> str:
        return self.account.role

    @property
    def display_name(self) -> str:
        return self.account.display_name


def accounts_of(state: AppState) -> Accounts:
    return Accounts(
        state.redis, state.keys, state.settings.default_team, state.settings.agent_capacity
    )


def _json_error(cls: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    return cls(
        text=json.dumps({"error": code, "message": message}), content_type="application/json"
    )


async def session_agent(request: web.Request) -> SessionAgent | None:
    """The agent of the request's session cookie, or None (unknown, expired or removed)."""
    sid = request.cookies.get(COOKIE, "")
    if not sid or len(sid) > 100:
        return None
    state = app_state(request.app)
    key = state.keys.session(sid)
    raw = cast(dict[str, str], await state.redis.hgetall(key))
    if not raw.get("user"):
        return None
    account = await accounts_of(state).get(raw["user"])
    if account is None:
        return None
    # Sliding expiry: a session in use stays alive.
    await state.redis.expire(key, state.settings.session_ttl)
    return SessionAgent(account=account, sid=sid, csrf=raw.get("csrf", ""))


async def require_agent(request: web.Request, roles: Iterable[str] | None = None) -> SessionAgent:
    """The session's agent, or 401 (not logged in) / 403 (wrong role or missing CSRF token)."""
    agent = await session_agent(request)
    if agent is None:
        raise _json_error(web.HTTPUnauthorized, "login_required", "Please log in.")
    if (
        request.method in UNSAFE_METHODS
        and request.path not in CSRF_EXEMPT
        and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), agent.csrf)
    ):
        raise _json_error(web.HTTPForbidden, "csrf", "The CSRF token is missing or wrong.")
    allowed = set(roles) if roles else None
    if allowed is not None and agent.role not in allowed and agent.role != "admin":
        raise _json_error(
            web.HTTPForbidden, "forbidden", f"This needs the role {' or '.join(sorted(allowed))}."
        )
    return agent


@web.middleware
async def csrf_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """State-changing API requests must come with the session's CSRF token."""
    if (
        request.method in UNSAFE_METHODS
        and request.path.startswith("/api/")
        and request.path not in CSRF_EXEMPT
    ):
        agent = await session_agent(request)
        token = request.headers.get(CSRF_HEADER, "")
        if agent is None or not token or not hmac.compare_digest(token, agent.csrf):
            return web.json_response(
                {
                    "error": "csrf",
                    "message": f"This request needs a valid session and its {CSRF_HEADER} header.",
                },
                status=403,
            )
    return await handler(request)


def _public(agent: Account, csrf: str) -> dict[str, Any]:
    return {
        "user": agent.name,
        "role": agent.role,
        "display_name": agent.display_name,
        "teams": list(agent.teams),
        "capacity": agent.capacity,
        "csrf": csrf,
    }


async def login(request: web.Request) -> web.Response:
    state = app_state(request.app)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _json_error(web.HTTPBadRequest, "bad_json", "Send JSON {username, password}.")
    username = str(body.get("username") or "").strip().lower()[:64]
    password = body.get("password")
    if not username or not isinstance(password, str):
        raise _json_error(web.HTTPBadRequest, "bad_login", "Send JSON {username, password}.")
    peer = request.remote or "unknown"
    allowed = state.settings.login_failures_allowed
    limits = state.limits
    if (
        await limits.count("login-user", username) >= allowed
        or await limits.count("login-ip", peer) >= allowed
    ):
        raise _json_error(
            web.HTTPTooManyRequests,
            "too_many_attempts",
            "Too many wrong passwords. Wait a minute before trying again.",
        )
    accounts = accounts_of(state)
    account = await accounts.verify_password(username, password)
    if account is None:
        await limits.allow("login-user", username, allowed)
        await limits.allow("login-ip", peer, allowed)
        raise _json_error(
            web.HTTPUnauthorized, "bad_credentials", "The user name or password is wrong."
        )
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    ttl = state.settings.session_ttl
    async with state.redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            state.keys.session(sid),
            mapping={"user": account.name, "csrf": csrf, "created_at": now_ms(), "ip": peer},
        )
        pipe.expire(state.keys.session(sid), ttl)
        pipe.sadd(state.keys.agent_sessions(account.name), sid)
        pipe.expire(state.keys.agent_sessions(account.name), ttl)
        await pipe.execute()
    response = web.json_response(_public(account, csrf))
    response.set_cookie(
        COOKIE,
        sid,
        max_age=ttl,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=state.settings.cookie_secure,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    state = app_state(request.app)
    agent = await require_agent(request)
    await state.redis.delete(state.keys.session(agent.sid))
    await state.redis.srem(state.keys.agent_sessions(agent.name), agent.sid)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    return web.json_response(_public(agent.account, agent.csrf))


def setup(app: web.Application) -> None:
    app.middlewares.append(csrf_guard)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
