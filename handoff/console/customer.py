"""Who the customer of a chat is, and what the shop already knows of them.

    GET /api/conversations/{cid}/customer
        {customer: {name, email, verified_order, known_by} | null,
         conversations: [archived conversations of theirs, newest first, not this one],
         tickets: [{id, at, status, text, conversation}], ratings: {count, average},
         archive: "ok" | "unavailable" | "off"}

A customer is recognised only as far as they proved who they are, and their history is shown
only to the same degree:

- **verified order** (`known_by: "verified order"`): they proved to the assistant that an order
  is theirs (`verified_order`, recorded when the assistant verified it or at escalation:
  handoff/queue/context.py). Their earlier conversations, ratings and the messages they left are
  found by that order's email *as the shop's order store has it*, looked up here, never by the
  conversation's `customer_email`, which an address typed with a message may have replaced. The
  order's email is not in the answer (the order panel's rule, handoff/console/orders.py: it is
  what ownership is proved with). A store that does not answer within the bound leaves the
  search to the order number, which the archive keeps per conversation.
- **email left with a message, not verified**: an address typed into the widget proves nothing;
  anyone can type anyone's. The answer names the address they typed (it is in the chat already)
  and lists only the messages left in this conversation: no earlier conversations, no ratings,
  no tickets of other chats, so a visitor who types a known customer's address learns nothing
  of theirs, and the agent is not misled into treating them as that customer.
- **nobody**: `customer` is null and nothing is looked up.

Earlier conversations and their ratings come from the conversation archive (handoff/archive),
which keeps every conversation a few seconds after its last write; tickets (messages left when
nobody could take the chat) from the live ticket stream. The archive being down or turned off
costs the history, never the chat: the answer says so and lists the tickets.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from handoff.archive.api import listed
from handoff.archive.writing import normalise_order_number
from handoff.console.access import viewable_conversation
from handoff.console.orders import proved_order
from handoff.queue.context import identify
from handoff.state import AppState, app_state

log = logging.getLogger(__name__)

# How many earlier conversations and tickets are listed (the History tab finds the rest).
LISTED = 10
# Archived conversations read to find them (the newest first), verified or not.
SEARCHED = 50
# Tickets are a stream kept in Redis (MAX_TICKETS); only the newest are searched for the email.
TICKETS_SEARCHED = 2000
# How a customer is known, as the console shows it.
BY_VERIFIED_ORDER = "verified order"
BY_LEFT_EMAIL = "email left with a message, not verified"


@dataclass(frozen=True)
class Customer:
    """A chat's customer as far as they proved it. `order_email` is their verified order's email
    from the order store: what their history is found by, never shown ("" when unknown)."""

    name: str
    verified_order: str
    known_by: str
    left_email: str = ""
    order_email: str = ""

    def shown(self) -> dict[str, str]:
        """What the agent is told: the address only when the customer typed it themselves."""
        return {
            "name": self.name,
            "email": self.left_email,
            "verified_order": self.verified_order,
            "known_by": self.known_by,
        }


async def identity_of(state: AppState, conversation: dict[str, str]) -> Customer | None:
    """The customer as far as the chat proves it, or None."""
    order = proved_order(conversation)
    if order:
        context = await identify(state.orders, order)
        found = context.customer
        return Customer(
            name=found.customer_name if found else conversation.get("customer_name") or "",
            verified_order=order,
            known_by=BY_VERIFIED_ORDER,
            order_email=context.identity().get("customer_email", ""),
        )
    typed = (conversation.get("customer_email") or "").strip().lower()
    if typed:
        return Customer(name="", verified_order="", known_by=BY_LEFT_EMAIL, left_email=typed)
    return None


def ratings_of(conversations: list[dict[str, Any]]) -> dict[str, Any]:
    """How many of the conversations were rated, and their average (1..5), or None."""
    rated = [int(c["rating"]) for c in conversations if str(c.get("rating") or "").isdigit()]
    rated = [r for r in rated if 1 <= r <= 5]
    average = round(sum(rated) / len(rated), 2) if rated else None
    return {"count": len(rated), "average": average}


async def orders_of(state: AppState, customer: Customer, orders: set[str]) -> set[str]:
    """Which of these order numbers (as the archive writes them) are the customer's: the one they
    proved in this chat, and any other whose email in the order store is their order's. With the
    store not answering, only the proved one: history shown is never someone else's."""
    try:
        mine = {normalise_order_number(customer.verified_order)}
    except ValueError:  # no order number at all: nothing is theirs but what the search proves
        mine = set()
    others = sorted(o for o in orders - mine if o)
    if customer.order_email and others:
        found = await asyncio.gather(*(identify(state.orders, order) for order in others))
        mine |= {
            order
            for order, context in zip(others, found, strict=True)
            if context.identity().get("customer_email") == customer.order_email
        }
    return mine


async def tickets_of(state: AppState, chats: set[str]) -> list[dict[str, str]]:
    """The messages left in these chats (this one, and a verified customer's earlier verified
    ones), newest first, without the address given with them. Never matched by the address
    alone: anyone can type or send mail from anyone's address, so a stranger's message left
    under a customer's email is not shown as theirs."""
    raw = await state.redis.xrevrange(state.keys.tickets, count=TICKETS_SEARCHED) or []
    tickets: list[dict[str, str]] = [
        {"id": str(tid), **{str(k): str(v) for k, v in (fields or {}).items()}}
        for tid, fields in raw
    ]
    return [
        {k: v for k, v in t.items() if k != "email"}
        for t in tickets
        if t.get("conversation") in chats
    ][:LISTED]


async def customer_history(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, conversation = await viewable_conversation(request)
    customer = await identity_of(state, conversation)
    answer: dict[str, Any] = {
        "customer": customer.shown() if customer else None,
        "conversations": [],
        "tickets": [],
        "ratings": {"count": 0, "average": None},
        "archive": "ok" if state.archive is not None else "off",
    }
    if customer is None:
        return web.json_response(answer)
    chats = {cid}
    if state.archive is not None and customer.verified_order:
        try:
            found = await asyncio.to_thread(
                state.archive.search,
                email=customer.order_email or None,
                order_number=None if customer.order_email else customer.verified_order,
                # More than listed: unverified ones are dropped below.
                limit=SEARCHED,
            )
        except SQLAlchemyError as error:
            log.warning("customer history: archive unavailable (%s)", error.__class__.__name__)
            answer["archive"] = "unavailable"
        else:
            # Only conversations in which one of the customer's own orders was proved: the
            # archive files every conversation under the email it was given, typed or sent by
            # anyone (another customer who proved their order, then typed this one's address,
            # included), and such a chat is not this customer's history.
            owned = await orders_of(
                state, customer, {str(c.get("order_number") or "") for c in found}
            )
            earlier = [c for c in found if c.get("id") != cid and c.get("order_number") in owned][
                :LISTED
            ]
            chats |= {str(c["id"]) for c in earlier}
            # The archive keeps each conversation's email; the order's is not for the agent here.
            answer["conversations"] = [
                {k: v for k, v in listed(c).items() if k != "customer_email"} for c in earlier
            ]
            answer["ratings"] = ratings_of(earlier)
    answer["tickets"] = await tickets_of(state, chats)
    return web.json_response(answer)
