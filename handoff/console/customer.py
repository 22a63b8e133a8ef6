"""Who the customer of a chat is, and what the shop already knows of them.

    GET /api/conversations/{cid}/customer
        {customer: {name, email, verified_order, known_by} | null,
         conversations: [archived conversations of theirs, newest first, not this one],
         tickets: [{id, at, status, text, conversation}], ratings: {count, average},
         archive: "ok" | "unavailable" | "off"}

A customer is recognised only as far as they proved who they are: by the email of an order
they verified to the assistant (escalation sets `customer_email`, `customer_name` and
`verified_order` on the conversation: handoff/queue/context.py), else by the email they left
with a message, else by a verified order alone (its number; the archive keeps it per
conversation). A customer who proved nothing is nobody in particular: `customer` is null and
nothing is looked up, so an agent cannot see one visitor's history in another's chat.

Earlier conversations and their ratings come from the conversation archive (handoff/archive),
which keeps every conversation a few seconds after its last write; tickets (messages left when
nobody could take the chat) from the live ticket stream. The archive being down or turned off
costs the history, never the chat: the answer says so and lists the tickets.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from handoff.archive.api import listed
from handoff.console.access import viewable_conversation
from handoff.console.orders import proved_order
from handoff.state import app_state

log = logging.getLogger(__name__)

# How many earlier conversations and tickets are listed (the History tab finds the rest).
LISTED = 10
# Tickets are a stream kept in Redis (MAX_TICKETS); only the newest are searched for the email.
TICKETS_SEARCHED = 2000


def identity_of(conversation: dict[str, str]) -> dict[str, str] | None:
    """The customer as far as the chat proves it, or None."""
    email = (conversation.get("customer_email") or "").strip().lower()
    order = proved_order(conversation) or ""
    if not email and not order:
        return None
    # An email came with a verified order (escalation), or was left with a message (a ticket).
    left_only = bool(email) and not conversation.get("verified_order")
    known_by = "email left with a message" if left_only else "verified order"
    return {
        "name": conversation.get("customer_name") or "",
        "email": email,
        "verified_order": order,
        "known_by": known_by,
    }


def ratings_of(conversations: list[dict[str, Any]]) -> dict[str, Any]:
    """How many of the conversations were rated, and their average (1..5), or None."""
    rated = [int(c["rating"]) for c in conversations if str(c.get("rating") or "").isdigit()]
    rated = [r for r in rated if 1 <= r <= 5]
    average = round(sum(rated) / len(rated), 2) if rated else None
    return {"count": len(rated), "average": average}


async def customer_history(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, conversation = await viewable_conversation(request)
    customer = identity_of(conversation)
    answer: dict[str, Any] = {
        "customer": customer,
        "conversations": [],
        "tickets": [],
        "ratings": {"count": 0, "average": None},
        "archive": "ok" if state.archive is not None else "off",
    }
    if customer is None:
        return web.json_response(answer)
    if customer["email"]:
        raw = await state.redis.xrevrange(state.keys.tickets, count=TICKETS_SEARCHED) or []
        tickets: list[dict[str, str]] = [
            {"id": str(tid), **{str(k): str(v) for k, v in (fields or {}).items()}}
            for tid, fields in raw
        ]
        answer["tickets"] = [
            {k: v for k, v in t.items() if k != "email"}
            for t in tickets
            if t.get("email", "").strip().lower() == customer["email"]
        ][:LISTED]
    if state.archive is not None:
        try:
            found = await asyncio.to_thread(
                state.archive.search,
                email=customer["email"] or None,
                order_number=None if customer["email"] else customer["verified_order"],
                limit=LISTED + 1,
            )
        except SQLAlchemyError as error:
            log.warning("customer history: archive unavailable (%s)", error.__class__.__name__)
            answer["archive"] = "unavailable"
        else:
            earlier = [c for c in found if c.get("id") != cid][:LISTED]
            answer["conversations"] = [listed(c) for c in earlier]
            answer["ratings"] = ratings_of(earlier)
    return web.json_response(answer)
