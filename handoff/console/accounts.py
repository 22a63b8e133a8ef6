"""Agent accounts in Redis: scrypt password hashes, roles, teams and chat capacity.

    {p}:agent:{name}  hash  password, role, display_name, teams (JSON list), capacity
    {p}:agents        set   every account name

Command line (REDIS_URL and REDIS_PREFIX from the environment):

    python -m handoff.console.accounts add NAME [--role agent|editor|admin] [--display-name X]
                                        [--teams a,b] [--capacity N] [--password-stdin]
    python -m handoff.console.accounts passwd NAME [--password-stdin]
    python -m handoff.console.accounts remove NAME
    python -m handoff.console.accounts list
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from handoff.conversations.keys import Keys

ROLES = ("agent", "editor", "admin")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# scrypt cost: n=2**14, r=8, p=1 takes ~50 ms and 16 MiB, the usual interactive-login setting.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024


class AccountError(ValueError):
    """A clear, user-facing reason an account operation was refused."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    display_name: str
    teams: tuple[str, ...]
    capacity: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "display_name": self.display_name,
            "teams": list(self.teams),
            "capacity": self.capacity,
        }


@dataclass(frozen=True)
class PasswordMatch:
    """A right password: the account, and the stored hash it was checked against. A session is
    opened only while that hash is still the account's (sessions.py, lua/open_session.lua), so a
    password change during the check leaves the login without a session."""

    account: Account
    password_hash: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


# A hash of a random password, checked when the user does not exist, so that a wrong user name
# takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison of a password with a stored `scrypt$n$r$p$salt$hash`."""
    try:
        scheme, n_s, r_s, p_s, salt_s, hash_s = stored.split("$")
        n, r, p = int(n_s), int(r_s), int(p_s)
        if scheme != "scrypt" or n > 2**20 or r > 32 or p > 16:
            return False
        expected = _unb64(hash_s)
        digest = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt_s),
            n=n,
            r=r,
            p=p,
            maxmem=256 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def _check_new_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"A password can have at most {MAX_PASSWORD_CHARS} characters.")


class Accounts:
    def __init__(
        self, redis: Redis, keys: Keys, default_team: str = "support", default_capacity: int = 3
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.default_team = default_team
        self.default_capacity = default_capacity

    async def create(
        self,
        name: str,
        password: str,
        *,
        role: str = "agent",
        display_name: str = "",
        teams: list[str] | None = None,
        capacity: int | None = None,
    ) -> Account:
        if not NAME.match(name):
            raise AccountError("A user name is 1-40 lower-case letters, digits, '.', '_' or '-'.")
        if role not in ROLES:
            raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
        _check_new_password(password)
        capacity = self.default_capacity if capacity is None else int(capacity)
        if capacity < 1:
            raise AccountError("Capacity must be at least 1.")
        fields: dict[Any, Any] = {
            "password": await asyncio.to_thread(hash_password, password),
            "role": role,
            "display_name": (display_name or name).strip()[:60],
            "teams": json.dumps(list(teams) if teams else [self.default_team]),
            "capacity": capacity,
        }
        # HSETNX on the password field decides who created the account, atomically.
        if not await self.redis.hsetnx(self.keys.agent(name), "password", fields["password"]):
            raise AccountError(f"An account named {name!r} already exists.")
        await self.redis.hset(self.keys.agent(name), mapping=fields)
        await self.redis.sadd(self.keys.agents, name)
        account = await self.get(name)
        assert account is not None
        return account

    async def get(self, name: str) -> Account | None:
        if not isinstance(name, str) or not NAME.match(name):
            return None
        raw = cast(dict[str, str], await self.redis.hgetall(self.keys.agent(name)))
        if not raw.get("password"):
            return None
        try:
            teams = tuple(str(t) for t in json.loads(raw.get("teams") or "[]"))
        except ValueError:
            teams = ()
        return Account(
            name=name,
            role=raw.get("role", "agent"),
            display_name=raw.get("display_name") or name,
            teams=teams or (self.default_team,),
            capacity=int(raw.get("capacity") or self.default_capacity),
        )

    async def verify_password(self, name: str, password: str) -> PasswordMatch | None:
        """The account and the hash checked if the password is right; None otherwise (same cost
        either way)."""
        stored = ""
        if isinstance(name, str) and NAME.match(name):
            stored = str(await self.redis.hget(self.keys.agent(name), "password") or "")
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
            return None
        ok = await asyncio.to_thread(check_password, password, stored or _DUMMY_HASH)
        if not ok or not stored:
            return None
        account = await self.get(name)
        return None if account is None else PasswordMatch(account, stored)

    async def set_password(self, name: str, password: str) -> int:
        """Set a new password and end every session of the account; how many were ended."""
        if await self.get(name) is None:
            raise AccountError(f"There is no account named {name!r}.")
        _check_new_password(password)
        hashed = await asyncio.to_thread(hash_password, password)
        await self.redis.hset(self.keys.agent(name), "password", hashed)
        return await self.end_sessions(name)

    async def end_sessions(self, name: str) -> int:
        """Delete every console session of the account; how many there were.

        A hint on the live channel tells every replica to close the account's open console
        sockets now, rather than when their next frame finds the session gone.
        """
        listed = self.keys.agent_sessions(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                # A login between reading the set and deleting it would keep its session (a
                # security promise broken): WATCH makes the deletion fail then, and we read again.
                await pipe.watch(listed)
                sessions = [str(s) for s in await pipe.smembers(listed)]
                pipe.multi()
                for sid in sessions:
                    pipe.delete(self.keys.session(sid))
                pipe.delete(listed)
                pipe.publish(self.keys.live, json.dumps({"sessions_ended": name}))
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return len(sessions)

    async def remove(self, name: str) -> bool:
        if await self.get(name) is None:
            return False
        await self.end_sessions(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.agent(name))
            pipe.srem(self.keys.agents, name)
            pipe.hdel(self.keys.presence, name)
            pipe.zrem(self.keys.heartbeat, name)
            await pipe.execute()
        return True

    async def list(self) -> list[Account]:
        names = sorted(str(n) for n in await self.redis.smembers(self.keys.agents))
        accounts = [await self.get(n) for n in names]
        return [a for a in accounts if a is not None]


async def bootstrap_admin(accounts: Accounts, password: str) -> bool:
    """Create `admin` when there is no account at all and a bootstrap password is configured."""
    if not password or await accounts.redis.scard(accounts.keys.agents):
        return False
    try:
        await accounts.create("admin", password, role="admin", display_name="Admin")
    except AccountError:
        return False  # another replica won the race, or the password is too short
    return True


# --- command line ------------------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise AccountError("The passwords do not match.")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handoff.console.accounts",
        description="Manage agent console accounts (REDIS_URL, REDIS_PREFIX from the environment).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--display-name", default="")
    add.add_argument("--teams", default="", help="comma-separated teams (default: DEFAULT_TEAM)")
    add.add_argument("--capacity", type=int, default=None, help="concurrent chats")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = sub.add_parser("passwd", help="set a new password (ends the user's sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = sub.add_parser("remove", help="delete an account")
    remove.add_argument("name")
    sub.add_parser("list", help="list accounts")
    return parser


async def _run(args: argparse.Namespace) -> int:
    redis = Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=5,
    )
    accounts = Accounts(
        redis,
        Keys(os.environ.get("REDIS_PREFIX", "ha")),
        default_team=os.environ.get("DEFAULT_TEAM", "support"),
        default_capacity=int(os.environ.get("AGENT_CAPACITY", "3")),
    )
    try:
        if args.command == "add":
            password = _read_password(args.password_stdin)
            teams = [t.strip() for t in args.teams.split(",") if t.strip()] or None
            account = await accounts.create(
                args.name,
                password,
                role=args.role,
                display_name=args.display_name,
                teams=teams,
                capacity=args.capacity,
            )
            print(f"created {account.name} ({account.role})")
        elif args.command == "passwd":
            await accounts.set_password(args.name, _read_password(args.password_stdin))
            print(f"password of {args.name} changed; their sessions were ended")
        elif args.command == "remove":
            if not await accounts.remove(args.name):
                raise AccountError(f"There is no account named {args.name!r}.")
            print(f"removed {args.name}")
        else:
            for a in await accounts.list():
                print(f"{a.name}\t{a.role}\t{a.display_name}\t{','.join(a.teams)}\t{a.capacity}")
        return 0
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (OSError, RedisError) as error:
        print(f"error: cannot reach Redis: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
