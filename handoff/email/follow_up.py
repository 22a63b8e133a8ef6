"""Follow-up emails: some days after a chat, ask the customer whether it was resolved.

    POST   /api/conversations/{cid}/follow-up   {days?}: schedule the chat's follow-up (or move
                                                the one not sent yet); 400 `no_email` when the
                                                customer gave no email address, 400 when days
                                                is not from 1 to `max_days`
    GET    /api/conversations/{cid}/follow-up   {follow_up: {...} | null, max_days}: the chat's
                                                latest, and the most days an agent may choose
    DELETE /api/conversations/{cid}/follow-up   cancel the one not sent yet

Agents and admins who may open the chat (console/access.py) call them, with the CSRF header for
the changes. A rule schedules one too: a chat handed over because the customer's order is
delayed (`order_delayed`) gets a follow-up FOLLOW_UP_DAYS after it closes (`after_close`, which
also emails the transcript when the agent ticked it in the close form).

A follow-up is a hash (`Keys.follow_up`) and a member of the due zset, scored by its due time.
The sweeper of every replica (`start_follow_ups`, every 2 s) sends the due ones through the
email outbox (handoff/email/outbox.py, which retries while SMTP is down). **Sent once with any
number of replicas**: a replica sends a follow-up only after taking its claim (SET NX with a
lease of FOLLOW_UP_LEASE) and reading it still `scheduled`; it marks it `sent` before letting the
claim go. A replica that dies between queuing the mail and marking it sent leaves the claim to
expire, and the follow-up is sent again after the lease: a rare second email rather than a lost
one. A follow-up whose conversation is gone (`chat_gone`) or has no email address (`no_email`) is
`skipped`, never retried. Neither should happen to one scheduled here: it is due within the days a
closed chat is kept (`max_days`), and scheduling keeps its conversation at least until it is due.

The email asks "was it resolved?" with five signed one-click links (email/follow_up_rating.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from handoff.console.access import CONSOLE_ROLES, viewable_conversation
from handoff.console.sessions import require_agent
from handoff.conversations.keys import FOLLOW_UP_LEASE, FOLLOW_UP_RATING_DAYS
from handoff.conversations.store import now_ms
from handoff.email.compose import shop_name
from handoff.email.follow_up_rating import SCORE_WORDS, SCORES, rating_token
from handoff.email.outbox import NoAddress, queue_email
from handoff.gateway.transcript import transcript_text
from handoff.settings import Settings
from handoff.state import AppState, app_state
from orders.dates import weekday_text
from vocabulary.reasons import ORDER_DELAYED

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600
DAY_MS = DAY_SECONDS * 1000
# The most days ahead an agent may ask for, whatever the deployment: four weeks. Fewer where
# closed chats are kept less long (`max_days`).
MAX_DAYS = 28
# Follow-ups sent per replica per sweep round (every 2 s): a backlog drains without one round
# holding the sweeper for long.
SENT_PER_ROUND = 20
# Reasons whose chats get a follow-up at close without an agent asking.
FOLLOWED_UP_REASONS = frozenset({ORDER_DELAYED})
# The fields of a follow-up the console is shown.
SHOWN = ("due_at", "days", "by", "state", "sent_at", "rating", "rated_at", "skipped")


class NoEmail(Exception):
    """The conversation has no customer email address to follow up."""


def max_days(settings: Settings) -> int:
    """The most whole days ahead an agent may schedule a follow-up: no further than a closed
    chat is kept (CLOSED_CONVERSATION_TTL_SECONDS), so the follow-up still finds its chat when
    it is due; 0 when closed chats are kept less than a day."""
    return min(MAX_DAYS, settings.closed_conversation_ttl // DAY_SECONDS)


def days_refused(settings: Settings) -> str:
    """Why an agent's choice of days was refused, naming the limit."""
    limit = max_days(settings)
    if limit == 0:
        return "No follow-up can be scheduled: closed chats are kept less than a day here."
    why = (
        f"closed chats are kept {settings.closed_conversation_ttl // DAY_SECONDS} days here"
        if limit < MAX_DAYS
        else "a follow-up is at most four weeks away"
    )
    return f"'days' must be a whole number from 1 to {limit}: {why}."


def _view(fid: str, data: dict[str, str]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": fid}
    for name in SHOWN:
        value = data.get(name, "")
        view[name] = int(value) if name.endswith("_at") and value.isdigit() else value or None
    view["rating"] = int(data["rating"]) if data.get("rating") else None
    view["days"] = float(data.get("days") or 0)
    return view


async def current(state: AppState, cid: str) -> dict[str, Any] | None:
    """The conversation's latest follow-up as the console shows it, or None."""
    (fid,) = await state.store.fields_of(cid, "follow_up")
    if not fid:
        return None
    data = await state.redis.hgetall(state.keys.follow_up(fid))
    return _view(fid, {str(k): str(v) for k, v in data.items()}) if data else None


async def schedule(state: AppState, cid: str, *, days: float, by: str) -> dict[str, Any]:
    """Schedule the conversation's follow-up `days` from now (replacing one not sent yet);
    NoEmail when there is nobody to write to."""
    email, previous = await state.store.fields_of(cid, "customer_email", "follow_up")
    if not email:
        raise NoEmail
    # Its chat is kept until it is due and a lease after (a replica that dies sending it leaves
    # another time to): a chat with the assistant may be kept only hours, and a closed one
    # exactly `max_days` would go the moment it is due.
    if not await state.store.keep_at_least(cid, int(days * DAY_SECONDS) + FOLLOW_UP_LEASE):
        raise NoEmail  # the conversation expired meanwhile
    if previous:
        await _cancel(state, previous)
    fid = secrets.token_hex(16)
    now = now_ms()
    due = now + int(days * DAY_MS)
    key = state.keys.follow_up(fid)
    fields: dict[FieldT, EncodableT] = {
        "conversation": cid,
        "due_at": due,
        "days": days,
        "by": by,
        "state": "scheduled",
    }
    async with state.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=fields)
        # Forgotten if it were never sent: its due day, then as long as its links would work.
        pipe.pexpire(key, due - now + FOLLOW_UP_RATING_DAYS * DAY_MS)
        pipe.zadd(state.keys.follow_ups_due, {fid: due})
        await pipe.execute()
    if not await state.store.set_fields(cid, {"follow_up": fid}):
        await _cancel(state, fid)  # the conversation expired meanwhile
        raise NoEmail
    # Said as the assistant says an order's dates to customers, whatever the server's locale.
    when = weekday_text(dt.datetime.fromtimestamp(due / 1000, dt.timezone.utc).date())
    await state.store.append(
        cid,
        "system",
        f"We'll email you on {when} to ask whether everything was resolved.",
        kind="event",
        event="follow_up_scheduled",
        data={"due_at": due, "by": by},
    )
    return _view(fid, {str(k): str(v) for k, v in fields.items()})


async def cancel(state: AppState, cid: str) -> bool:
    """Cancel the conversation's follow-up if it is not sent yet; True if one was."""
    (fid,) = await state.store.fields_of(cid, "follow_up")
    if not fid or not await _cancel(state, fid):
        return False
    await state.store.append(
        cid,
        "system",
        "The follow-up email was cancelled.",
        kind="event",
        event="follow_up_cancelled",
    )
    return True


async def _cancel(state: AppState, fid: str) -> bool:
    # ZREM decides: a follow-up a sender has claimed is still in the zset until marked sent,
    # and one a sender is about to claim is gone from it, so it reads `cancelled` and stops.
    key = state.keys.follow_up(fid)
    if await state.redis.hget(key, "state") != "scheduled":
        return False
    await state.redis.hset(key, "state", "cancelled")
    await state.redis.zrem(state.keys.follow_ups_due, fid)
    return True


async def after_close(
    state: AppState, cid: str, conversation: dict[str, str], *, email_transcript: bool
) -> None:
    """What a close sets off by email: the transcript, when the agent ticked it, and the
    follow-up of a chat handed over for a delayed order (unless one is already scheduled).
    The chat is closed whatever happens here: a failure is logged, not the close's."""
    try:
        if email_transcript and await send_transcript(state, cid) is None:
            log.info("transcript not emailed: the customer gave no email address")
        if conversation.get("reason") not in FOLLOWED_UP_REASONS:
            return
        existing = await current(state, cid)
        if existing is not None and existing["state"] == "scheduled":
            return
        days = state.settings.follow_up_days
        await schedule(state, cid, days=days, by=f"rule:{ORDER_DELAYED}")
    except NoEmail:
        log.info("no follow-up for a delayed order: the customer gave no email address")
    except RedisError as error:
        log.warning("after close, email not queued: %r", error)


async def send_transcript(state: AppState, cid: str) -> str | None:
    """Queue the chat's transcript to the customer; its mail id, or None without an address."""
    (email,) = await state.store.fields_of(cid, "customer_email")
    if not email:
        return None
    text = transcript_text(await state.store.read_all(cid))
    shop = shop_name(state.settings.mail_from)
    body = (
        f"Hello,\n\nHere is the transcript of your chat with {shop}, as you asked.\n\n"
        f"{text}\nIf anything is still open, reply to this email: it reaches our team.\n"
    )
    try:
        mail_id = await queue_email(
            state, cid, kind="transcript", subject=f"Your chat with {shop}", body=body
        )
    except (NoAddress, KeyError):
        return None
    await state.store.append(
        cid,
        "system",
        "The transcript of this chat was emailed to you.",
        kind="event",
        event="transcript_emailed",
    )
    return mail_id


# --- sending what is due -------------------------------------------------------------------


async def send_due(state: AppState, now: int | None = None) -> int:
    """Send the follow-ups due by `now` that no other replica is sending; how many were sent."""
    now = now_ms() if now is None else now
    due = await state.redis.zrangebyscore(
        state.keys.follow_ups_due, "-inf", now, start=0, num=SENT_PER_ROUND
    )
    sent = 0
    for fid in (str(f) for f in due):
        claim = state.keys.follow_up_claim(fid)
        if not await state.redis.set(claim, "1", nx=True, ex=FOLLOW_UP_LEASE):
            continue  # another replica is sending it
        try:
            sent += await _send(state, fid)
        except Exception:
            # Left due and claimed: tried again once the lease ends (asyncio's cancellation is
            # not an Exception, so a stopping service still stops).
            log.exception("follow-up not sent; retried after %s s", FOLLOW_UP_LEASE)
            continue
        await state.redis.delete(claim)
    return sent


async def _send(state: AppState, fid: str) -> int:
    key = state.keys.follow_up(fid)
    data = {str(k): str(v) for k, v in (await state.redis.hgetall(key)).items()}
    if data.get("state") != "scheduled":
        await state.redis.zrem(state.keys.follow_ups_due, fid)
        return 0
    cid = data.get("conversation", "")
    conversation = await state.store.get(cid)
    if conversation is None or not conversation.get("customer_email"):
        await _skip(state, fid, "chat_gone" if conversation is None else "no_email")
        return 0
    try:
        mail_id = await queue_email(
            state,
            cid,
            kind="follow_up",
            subject=f"Was your question to {shop_name(state.settings.mail_from)} resolved?",
            body=follow_up_body(state, fid, conversation),
        )
    except NoAddress:  # its address went meanwhile
        await _skip(state, fid, "no_email")
        return 0
    except KeyError:  # the conversation went meanwhile
        await _skip(state, fid, "chat_gone")
        return 0
    sent_at = now_ms()
    await _finish(
        state,
        fid,
        {
            "state": "sent",
            "mail_id": mail_id,
            "sent_at": sent_at,
            "rate_until": sent_at + FOLLOW_UP_RATING_DAYS * DAY_MS,
        },
        keep_seconds=FOLLOW_UP_RATING_DAYS * 24 * 3600,
    )
    await state.store.append(
        cid,
        "system",
        "We emailed you to ask whether everything was resolved.",
        kind="event",
        event="follow_up_sent",
    )
    return 1


async def _skip(state: AppState, fid: str, why: str) -> None:
    """Never sent, and why (the console says it): `chat_gone` or `no_email`."""
    await _finish(state, fid, {"state": "skipped", "skipped": why})


async def _finish(
    state: AppState, fid: str, fields: dict[FieldT, EncodableT], keep_seconds: int | None = None
) -> None:
    async with state.redis.pipeline(transaction=True) as pipe:
        pipe.hset(state.keys.follow_up(fid), mapping=fields)
        if keep_seconds is not None:
            pipe.expire(state.keys.follow_up(fid), keep_seconds)
        pipe.zrem(state.keys.follow_ups_due, fid)
        await pipe.execute()


def follow_up_body(state: AppState, fid: str, conversation: dict[str, str]) -> str:
    """The email's text: the question and one signed link per answer."""
    secret = state.settings.secret.reveal()
    base = str(state.settings.public_url).rstrip("/")
    name = (conversation.get("customer_name") or "").strip().split(" ")[0]
    links = "\n".join(
        f"  {score} - {SCORE_WORDS[score].capitalize()}: "
        f"{base}/rate/{rating_token(secret, fid, score)}"
        for score in SCORES
    )
    return (
        f"Hello {name or 'there'},\n\n"
        f"A few days ago you chatted with {shop_name(state.settings.mail_from)}. "
        "Was your question resolved?\n\n"
        f"One click on your answer is enough:\n\n{links}\n\n"
        "If something is still wrong, reply to this email: it reaches our team, with your "
        "chat in front of them.\n"
    )


async def start_follow_ups(app: web.Application) -> None:
    """On start-up: add the due follow-ups to the app's sweeper (every 2 s, every replica)."""
    state = app_state(app)

    async def hook() -> None:
        await send_due(state)

    state.sweep_hooks.append(hook)


# --- the console's API ---------------------------------------------------------------------


def _answer(state: AppState, follow_up: dict[str, Any] | None) -> web.Response:
    # Every answer tells the console the days it may offer, so it never offers a refused one.
    return web.json_response({"follow_up": follow_up, "max_days": max_days(state.settings)})


async def get_follow_up(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, _ = await viewable_conversation(request)
    return _answer(state, await current(state, cid))


async def post_follow_up(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, _ = await viewable_conversation(request)
    body = await request.json() if request.can_read_body else {}
    days = body.get("days") if isinstance(body, dict) else None
    limit = max_days(state.settings)
    if days is None:
        # FOLLOW_UP_DAYS: within the closed lifetime while email is on (checked at start-up).
        days = state.settings.follow_up_days
    elif isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        raise web.HTTPBadRequest(text=days_refused(state.settings))
    agent = await require_agent(request, roles=CONSOLE_ROLES)
    try:
        follow_up = await schedule(state, cid, days=float(days), by=agent.name)
    except NoEmail:
        return web.json_response(
            {
                "error": "no_email",
                "message": "The customer gave no email address, so no follow-up can be sent.",
            },
            status=400,
        )
    return _answer(state, follow_up)


async def delete_follow_up(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, _ = await viewable_conversation(request)
    if not await cancel(state, cid):
        raise web.HTTPNotFound(text="This chat has no follow-up waiting to be sent.")
    return _answer(state, await current(state, cid))
