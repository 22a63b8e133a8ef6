"""Console sessions: login, logout, who am I, CSRF protection and role checks.

A session is a random id in the `ha_session` cookie (HttpOnly, SameSite=Strict, Secure behind
HTTPS) naming a Redis hash {user, csrf}. Every state-changing request except the login itself
must echo the session's CSRF token in `X-CSRF-Token`. Wrong passwords are rate-limited per user
name and per address. Logging out, changing a password or removing an account ends all the
user's sessions, and their open console sockets close within a moment (see Accounts.end_sessions).

Those find the sessions on the account's list of sessions, so every script that writes a
session keeps it listed and keeps the list alive as long as the session (lua/session_list.lua):
a session in use slides both (lua/keep_session.lua). A login opens its session only while the
password it checked is still the account's (lua/open_session.lua); one that a password change
overtook is refused like a wrong password.
"""

from __future__ import annotations

import functools
import hmac
import itertools
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from aiohttp import web

from handoff.console.accounts import Account, AccountError, Accounts, PasswordMatch
from handoff.conversations.store import now_ms
from handoff.state import AppState, app_state

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


@functools.cache
def session_script(name: str) -> str:
    """A script that writes a session, after the rule that keeps it listed (session_list.lua)."""
    scripts = resources.files("handoff.console").joinpath("lua")
    return scripts.joinpath("session_list.lua").read_text() + scripts.joinpath(name).read_text()


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
    # Sliding expiry: a session in use stays alive, and so does the list that ends it.
    keep = state.redis.register_script(session_script("keep_session.lua"))
    listed = state.keys.agent_sessions(account.name)
    if not await keep(keys=[key, listed], args=[sid, state.settings.session_ttl]):
        return None  # ended since it was read (logout elsewhere, password changed)
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
    if request.content_type != "application/json":
        # A form on another site can post text/plain without a CORS preflight, and so log a
        # victim's browser into the attacker's account; only JavaScript of our own origin
        # can send application/json here.
        raise _json_error(
            web.HTTPUnsupportedMediaType, "json_required", "Send JSON {username, password}."
        )
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
    match = await _checked_password(state, username, password, peer)
    opened = None if match is None else await _open_session(state, match, peer)
    if match is None or opened is None:
        # A password changed while this one was checked is no longer the account's: the same
        # answer as a wrong one, and the new password logs in.
        raise _json_error(
            web.HTTPUnauthorized, "bad_credentials", "The user name or password is wrong."
        )
    sid, csrf = opened
    response = web.json_response(_public(match.account, csrf))
    response.set_cookie(
        COOKIE,
        sid,
        max_age=state.settings.session_ttl,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=state.settings.cookie_secure,
    )
    return response


async def _open_session(state: AppState, match: PasswordMatch, peer: str) -> tuple[str, str] | None:
    """A new session's id and CSRF token; None if the account's password (or the account)
    changed since it was checked, and then nothing was written."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    name = match.account.name
    fields: dict[str, str | int] = {"user": name, "csrf": csrf, "created_at": now_ms(), "ip": peer}
    open_session = state.redis.register_script(session_script("open_session.lua"))
    keys = [state.keys.agent(name), state.keys.session(sid), state.keys.agent_sessions(name)]
    args = [match.password_hash, sid, state.settings.session_ttl, *itertools.chain(*fields.items())]
    return (sid, csrf) if await open_session(keys=keys, args=args) else None


async def _checked_password(
    state: AppState, username: str, password: str, peer: str
) -> PasswordMatch | None:
    """The account and its checked hash if the password is right; 429 past the attempts
    allowed a minute.

    Each attempt is counted before the password is checked, per user name and per address,
    so parallel guesses cannot slip past the limit; a right password takes its attempt back.
    """
    allowed = state.settings.login_failures_allowed
    limits = state.limits
    counts = await limits.hit(("login-user", username), ("login-ip", peer))
    if max(counts) > allowed:
        state.metrics.refused("login_rate")
        raise _json_error(
            web.HTTPTooManyRequests,
            "too_many_attempts",
            "Too many wrong passwords. Wait a minute before trying again.",
        )
    match = await accounts_of(state).verify_password(username, password)
    if match is not None:
        await limits.undo("login-user", username)
        await limits.undo("login-ip", peer)
    return match


async def logout(request: web.Request) -> web.Response:
    """End every session of the agent (all browsers) and close their console sockets."""
    state = app_state(request.app)
    agent = await require_agent(request)
    ended = await accounts_of(state).end_sessions(agent.name)
    response = web.json_response({"ok": True, "sessions_ended": ended})
    response.del_cookie(COOKIE, path="/")
    return response


async def change_password(request: web.Request) -> web.Response:
    """Change one's own password (the current one is asked again); ends every session."""
    state = app_state(request.app)
    agent = await require_agent(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _json_error(
            web.HTTPBadRequest, "bad_json", "Send JSON {current_password, new_password}."
        )
    current, new = body.get("current_password"), body.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        raise _json_error(
            web.HTTPBadRequest, "bad_password", "Send JSON {current_password, new_password}."
        )
    peer = request.remote or "unknown"
    if await _checked_password(state, agent.name, current, peer) is None:
        raise _json_error(web.HTTPForbidden, "bad_credentials", "The current password is wrong.")
    try:
        ended = await accounts_of(state).set_password(agent.name, new)
    except AccountError as error:
        raise _json_error(web.HTTPBadRequest, "bad_password", str(error)) from None
    response = web.json_response({"ok": True, "sessions_ended": ended})
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    return web.json_response(_public(agent.account, agent.csrf))
