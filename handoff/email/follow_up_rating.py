"""The follow-up email's one-click rating links, and the page they open.

    GET /rate/{token}    public: records the customer's answer (1-5) to "was it resolved?" and
                         shows a short thank-you page; a forged, foreign or expired link gets
                         the same plain 404 page whatever was wrong with it

A link is `<follow-up id>.<score>.<signature>`: the signature is an HMAC-SHA256 of the purpose,
the follow-up id and the score under the service secret (HANDOFF_SECRET), so it is bound to one
follow-up and one score, and a resume token (signed with the same secret) can never pass for
one. It is compared in constant time. How long it works is kept in Redis, not in the link: the
follow-up's `rate_until`, FOLLOW_UP_RATING_DAYS after the email went out; once the follow-up's
hash is gone every link of it is dead.

**A link may be used again: the latest click within the 30 days counts.** Why not the first
only: mail providers' link scanners (Outlook Safe Links, corporate gateways) open the links of a
mail before the customer does, and with "first click wins" a scanner's visit to "1" would be
the customer's answer for ever; and a customer who clicked the wrong star could not put it
right. With "latest wins" the customer's own click, which comes after the scanner's, stands.
The dashboard counts each follow-up once: its first answer adds one rating to the day it came,
a changed answer moves that day's totals (and its satisfied count) instead of adding another.
A click repeating the current answer changes nothing and writes no event. HEAD requests (what
some scanners send) show the page and record nothing.

The answer lands in the conversation (`follow_up_rating`, `follow_up_rated_at`) with a system
event the agent sees live in the console ("Follow-up email: the customer rated 4 of 5."), and in
the dashboard's CSAT (`ratings`, `rating_total`, `ratings_satisfied`, as a chat's rating does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re
from dataclasses import dataclass

from aiohttp import web
from redis.exceptions import WatchError

from handoff.conversations.store import now_ms
from handoff.email.compose import shop_name
from handoff.gateway.handlers import SATISFIED_SCORE
from handoff.queue.stats import day_of
from handoff.state import AppState, app_state
from handoff.web.pages import SECURITY_HEADERS

log = logging.getLogger(__name__)

PURPOSE = b"harbor-assist/follow-up-rating/v1"
SCORES = range(1, 6)
# What each score answers to "was it resolved?", in the email and on the thank-you page.
SCORE_WORDS = {
    1: "not resolved at all",
    2: "mostly not resolved",
    3: "partly resolved",
    4: "mostly resolved",
    5: "completely resolved",
}
FOLLOW_UP_ID = re.compile(r"^[0-9a-f]{32}$")
# 16 bytes of HMAC-SHA256 (128 bits) is far beyond guessing, and keeps the links short.
_SIGNATURE_BYTES = 16
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([1-5])\.([A-Za-z0-9_-]{22})$")
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    # The link is the credential: never sent on as a Referer, never cached, never indexed.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


def _signature(secret: str, fid: str, score: int) -> str:
    mac = hmac.new(secret.encode(), PURPOSE + b"|" + f"{fid}|{score}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:_SIGNATURE_BYTES]).decode().rstrip("=")


def rating_token(secret: str, fid: str, score: int) -> str:
    """The link token that answers follow-up `fid` with `score` (1-5)."""
    if score not in SCORES or not FOLLOW_UP_ID.match(fid):
        raise ValueError("a follow-up id and a score from 1 to 5")
    return f"{fid}.{score}.{_signature(secret, fid, score)}"


def read_rating_token(secret: str, token: str) -> tuple[str, int] | None:
    """(follow-up id, score) of a genuine token, else None (whatever is wrong with it)."""
    found = _TOKEN.match(token)
    if found is None:
        return None
    fid, score = found.group(1), int(found.group(2))
    if not hmac.compare_digest(found.group(3), _signature(secret, fid, score)):
        return None
    return fid, score


@dataclass(frozen=True)
class Recorded:
    """A rating as recorded: `previous` is the follow-up's earlier answer (0: none)."""

    cid: str
    score: int
    previous: int


async def record_rating(state: AppState, fid: str, score: int) -> Recorded | None:
    """Record the customer's answer to follow-up `fid`; None when it cannot be answered (no such
    follow-up, not sent, or past its `rate_until`). Two clicks at once are serialised by a
    WATCH on the follow-up, so each change of answer is counted exactly once."""
    key = state.keys.follow_up(fid)
    async with state.redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                data = {str(k): str(v) for k, v in (await pipe.hgetall(key) or {}).items()}
                now = now_ms()
                open_ = data.get("state") in ("sent", "rated") and now <= int(
                    data.get("rate_until") or 0
                )
                if not open_ or not data.get("conversation"):
                    await pipe.unwatch()
                    return None
                previous = int(data.get("rating") or 0)
                if previous == score:
                    await pipe.unwatch()
                    return Recorded(data["conversation"], score, previous)
                pipe.multi()
                pipe.hset(
                    key,
                    mapping={
                        "state": "rated",
                        "rating": score,
                        "rated_at": now,
                        # The dashboard day the answer counts on: the first answer's.
                        "counted_day": data.get("counted_day") or day_of(now),
                    },
                )
                await pipe.execute()
            except WatchError:
                continue
            break
    recorded = Recorded(data["conversation"], score, previous)
    await _count(state, recorded, data.get("counted_day") or day_of(now))
    await _tell_conversation(state, fid, recorded, now)
    return recorded


async def _count(state: AppState, recorded: Recorded, day: str) -> None:
    """The answer in the dashboard's CSAT: one rating per follow-up, its latest score."""
    satisfied = int(recorded.score >= SATISFIED_SCORE) - int(recorded.previous >= SATISFIED_SCORE)
    if not recorded.previous:
        await state.queue.count("ratings", day=day)
    await state.queue.count("rating_total", recorded.score - recorded.previous, day=day)
    if satisfied:
        await state.queue.count("ratings_satisfied", satisfied, day=day)


async def _tell_conversation(state: AppState, fid: str, recorded: Recorded, now: int) -> None:
    """The answer on the conversation, and an event its agent sees in the console."""
    cid = recorded.cid
    await state.store.set_fields(
        cid, {"follow_up_rating": recorded.score, "follow_up_rated_at": now}
    )
    verb = "changed their answer to" if recorded.previous else "rated"
    try:
        await state.store.append(
            cid,
            "system",
            f"Follow-up email: the customer {verb} {recorded.score} of 5 "
            f"({SCORE_WORDS[recorded.score]}).",
            kind="event",
            event="follow_up_rated",
            data={"score": recorded.score, "previous": recorded.previous, "follow_up": fid},
        )
    except KeyError:
        # The conversation expired meanwhile: the rating is still counted and kept above.
        log.info("follow-up rated after its conversation was gone")


async def rate_page(request: web.Request) -> web.Response:
    """`GET /rate/{token}`: record the answer, thank the customer (text only)."""
    state = app_state(request.app)
    shop = shop_name(state.settings.mail_from)
    read = read_rating_token(state.settings.secret.reveal(), request.match_info["token"])
    if read is None:
        return _not_found(shop)
    fid, score = read
    if request.method == "HEAD":
        return _page(shop, "Thank you", [], status=200)
    recorded = await record_rating(state, fid, score)
    if recorded is None:
        return _not_found(shop)
    return _page(
        shop,
        "Thank you for your answer",
        [
            f"You told us your problem was {SCORE_WORDS[score]} ({score} of 5).",
            "If you clicked the wrong one, click another rating in the email: the latest counts.",
            "If something is still wrong, reply to the email and the team will pick it up.",
        ],
    )


def _not_found(shop: str) -> web.Response:
    # The same words whether the link was forged, belongs to nothing or has expired.
    return _page(
        shop,
        "This link does not work",
        ["It may have expired. If you still need help, reply to our email or start a chat."],
        status=404,
    )


def _page(shop: str, title: str, lines: list[str], status: int = 200) -> web.Response:
    """A small page of text; everything in it is escaped, and it runs no script."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - {html.escape(shop)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;color:#1d2327;margin:0}"
        "main{max-width:36rem;margin:3rem auto;padding:0 1rem}h1{font-size:1.5rem}</style>"
        f"</head><body><main><h1>{html.escape(title)}</h1>{paragraphs}</main></body></html>"
    )
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )
