"""The console's order panel: the orders a conversation mentions, looked up for the agent.

    GET /api/conversations/{cid}/orders                  {orders: [{order_number, verified}]}
    GET /api/conversations/{cid}/orders/{order_number}   {order: {...}, verified}
    GET /api/audit/order-lookups?limit=                  {lookups: [...]}, newest first (admins)

Agents are staff, so they may read an order's details whether or not the customer proved it is
theirs; `verified` says which, so the agent knows what they may tell the customer. Three rules
keep the panel from being a way to browse the shop's orders:

- a conversation is reached only as everywhere else (`access.viewable_conversation`: 404 for an
  id that names nothing, 403 for a chat that is not the agent's to open);
- only an order number the conversation mentions can be looked up through it: written by the
  customer or the assistant, the order the customer proved (the `verified_order` field), or the
  assistant's `order_number` slot in the handoff packet. What an agent writes does not count,
  or typing a number into the chat would open any order;
- every lookup that reaches the order store, and every refused one for an order the chat does
  not mention, is recorded (time, agent, conversation, order number, outcome) in a capped Redis
  stream, before the answer leaves, and in a log line without the order number. If it cannot
  be recorded the answer is 503: no order is shown unaudited. A customer's erasure blanks the
  order number in the entries about them and keeps the rest (`blank_order_numbers`).

The order's email address and postal code never leave this module: they are what a customer
proves ownership with, and an agent who sees them could be talked into "confirming" them.

The order store answers within ORDERS_DB_TIMEOUT_SECONDS or the answer is 503; its lookups run
on threads of their own (handoff/app.py gives the store a small pool), so a database that hangs
holds up the order panel and nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any, cast

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import WatchError

from handoff.console.access import CONSOLE_ROLES, viewable_conversation
from handoff.console.sessions import require_agent
from handoff.conversations.entry import as_text, json_or_none
from handoff.conversations.keys import ORDER_LOOKUPS_KEPT
from handoff.conversations.store import now_ms
from handoff.state import AppState, app_state
from orders.numbers import is_order_number, order_numbers_in
from orders.store import Order, OrderStoreUnavailable
from vocabulary.payload import verified_order

log = logging.getLogger(__name__)

# Who may mention an order for the panel: the customer, and the assistant answering them.
MENTIONING_SENDERS = frozenset({"customer", "bot"})
# Outcomes of a lookup, as the audit log and the metric name them.
FOUND, NOT_FOUND, UNAVAILABLE, NOT_MENTIONED = "found", "not_found", "unavailable", "not_mentioned"
DEFAULT_AUDIT_LIMIT = 100
MAX_AUDIT_LIMIT = 1000
# A blanking rewrite of the audit stream starts again when a lookup is recorded meanwhile; after
# this many tries in a row it gives up (the erasure fails and says so, nothing half-done).
BLANK_TRIES = 5


def _refusal(cls: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    return cls(
        text=json.dumps({"error": code, "message": message}), content_type="application/json"
    )


def _canonical(value: Any) -> str | None:
    """An order number in its canonical form (HG-10042), however it was written; else None."""
    found = order_numbers_in([value]) if isinstance(value, str) else []
    return found[0] if found else None


def proved_order(conversation: dict[str, str]) -> str | None:
    """The order the customer proved to the assistant is theirs, or None.

    Escalation keeps it in the conversation's `verified_order` field; a handoff packet from the
    assistant may also carry it as `slots: {order_number, order_verified: true}`.
    """
    verified = _canonical(conversation.get("verified_order"))
    if verified:
        return verified
    packet = json_or_none(conversation.get("packet"))
    return _canonical(verified_order(packet.get("slots"))) if isinstance(packet, dict) else None


def proved_by_customer(conversation: dict[str, str], order_number: str) -> bool:
    """Whether the customer of this conversation proved that this order is theirs."""
    return proved_order(conversation) == order_number


async def mentioned_orders(state: AppState, cid: str, conversation: dict[str, str]) -> list[str]:
    """The order numbers the conversation mentions: the proved one first, then as first written."""
    texts = [
        entry.text
        for entry in await state.store.read_all(cid)
        if entry.kind == "message" and entry.sender in MENTIONING_SENDERS
    ]
    packet = json_or_none(conversation.get("packet"))
    slots = packet.get("slots") if isinstance(packet, dict) else None
    slot = slots.get("order_number") if isinstance(slots, dict) else None
    proved = proved_order(conversation)
    mentioned = order_numbers_in([proved or "", slot if isinstance(slot, str) else "", *texts])
    return mentioned


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def order_view(order: Order, verified: bool) -> dict[str, Any]:
    """What the panel shows of an order (never the email address or postal code)."""
    return {
        "order_number": order.order_number,
        "customer_name": order.customer_name,
        "state": order.state,
        "placed": _day(order.placed_at),
        "items": [item.strip() for item in order.items.split(";") if item.strip()],
        # A decimal string: money does not pass through floats (orders/store.py keeps cents).
        "total": f"{order.total_usd:.2f}",
        "currency": "USD",
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "estimated_delivery": _day(order.estimated_delivery),
        "delivered": _day(order.delivered_at),
        "refund_status": order.refund_status,
        "verified": verified,
    }


async def record_lookup(
    state: AppState, agent: str, cid: str, order_number: str, outcome: str
) -> None:
    """Audit one lookup: a capped stream for admins, a log line, a metric. Raises RedisError
    (answered 503 by the error middleware) when it cannot be kept."""
    await state.redis.xadd(
        state.keys.order_lookups,
        {
            "at": str(now_ms()),
            "agent": agent,
            "conversation": cid,
            "order": order_number,
            "outcome": outcome,
        },
        maxlen=ORDER_LOOKUPS_KEPT,
        approximate=True,
    )
    state.metrics.order_lookups.labels(outcome=outcome).inc()
    # Ids and an outcome only: no order number (a customer's erasure could not reach a log
    # line), nor the order's contents or the customer's name. The stream holds the number.
    log.info("order lookup: agent=%s conversation=%s outcome=%s", agent, cid, outcome)


def _fields(raw: dict[Any, Any]) -> dict[str, str]:
    return {as_text(k): as_text(v) for k, v in raw.items()}


async def lookups_about(
    redis: Redis, key: str, order_number: str | None, conversations: Collection[str]
) -> list[tuple[str, dict[str, str]]]:
    """The audit entries (id, fields), oldest first, of lookups of `order_number` or made in
    one of `conversations`: what the audit holds about one customer."""
    raw = cast("list[tuple[Any, dict[Any, Any]]]", await redis.xrange(key) or [])
    found = []
    for entry_id, stored in raw:
        fields = _fields(stored)
        if _about(fields, order_number, conversations):
            found.append((as_text(entry_id), fields))
    return found


def _about(
    fields: dict[str, str], order_number: str | None, conversations: Collection[str]
) -> bool:
    """Whether an audit entry names the customer's order: a lookup of it, or any lookup made
    in one of their conversations (an entry already blanked names none)."""
    order = fields.get("order") or None
    return order is not None and (
        order == order_number or fields.get("conversation") in conversations
    )


async def blank_order_numbers(
    redis: Redis, key: str, order_number: str | None, conversations: Collection[str]
) -> int:
    """Blank the order number of the audit entries about one customer (`lookups_about`),
    keeping who looked, when, in which chat and with what outcome: the audit stays a record of
    staff reading orders, and no longer names the customer's order. Returns how many were
    blanked. The entries are chosen while the stream is rewritten, so a lookup recorded after
    the erasure began is blanked too.

    A stream entry cannot be changed in place, so the stream is written again whole, every entry
    under its own id (the order and the admins' paging stay as they were), in one transaction
    watched for a lookup recorded meanwhile; then it is tried again, up to BLANK_TRIES times.
    Raises WatchError when lookups kept landing."""
    for _ in range(BLANK_TRIES):
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                raw = cast("list[tuple[Any, dict[Any, Any]]]", await pipe.xrange(key) or [])
                if not any(_about(_fields(f), order_number, conversations) for _, f in raw):
                    return 0  # nothing to blank: the stream is left as it is
                info = cast("dict[Any, Any]", await pipe.xinfo_stream(key))
                pipe.multi()
                pipe.delete(key)
                blanked = 0
                for entry_id, stored in raw:
                    fields = _fields(stored)
                    if _about(fields, order_number, conversations):
                        fields["order"] = ""
                        blanked += 1
                    pipe.xadd(key, cast("dict[Any, Any]", fields), id=entry_id)
                # The next lookup's id follows the last one ever given, as it would have.
                pipe.execute_command("XSETID", key, as_text(info["last-generated-id"]))
                await pipe.execute()
                return blanked
            except WatchError:
                continue
    raise WatchError(f"{key} kept changing while its order numbers were being blanked")


async def list_orders(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, conversation = await viewable_conversation(request)
    proved = proved_order(conversation)
    mentioned = await mentioned_orders(state, cid, conversation)
    return web.json_response(
        {"orders": [{"order_number": n, "verified": n == proved} for n in mentioned]}
    )


async def get_order(request: web.Request) -> web.Response:
    state = app_state(request.app)
    agent = await require_agent(request, roles=CONSOLE_ROLES)
    cid, conversation = await viewable_conversation(request)
    order_number = request.match_info["order_number"]
    if not is_order_number(order_number):
        raise _refusal(
            web.HTTPBadRequest,
            "bad_order_number",
            "An order number is HG- and five digits, such as HG-10042.",
        )
    if order_number not in await mentioned_orders(state, cid, conversation):
        await record_lookup(state, agent.name, cid, order_number, NOT_MENTIONED)
        raise _refusal(
            web.HTTPNotFound,
            "not_mentioned",
            f"This conversation does not mention {order_number}: the order panel shows only "
            "the orders a conversation names.",
        )
    try:
        order = await state.orders.find_async(order_number)
    except OrderStoreUnavailable:
        await record_lookup(state, agent.name, cid, order_number, UNAVAILABLE)
        raise _refusal(
            web.HTTPServiceUnavailable,
            "orders_unavailable",
            "The order store is not answering right now; try again in a moment. "
            "The chat is not affected.",
        ) from None
    if order is None:
        await record_lookup(state, agent.name, cid, order_number, NOT_FOUND)
        raise _refusal(
            web.HTTPNotFound, "no_such_order", f"No order {order_number} in the order store."
        )
    await record_lookup(state, agent.name, cid, order_number, FOUND)
    verified = proved_by_customer(conversation, order_number)
    return web.json_response({"order": order_view(order, verified), "verified": verified})


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "")
    if not raw:
        return DEFAULT_AUDIT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_AUDIT_LIMIT:
        raise _refusal(
            web.HTTPBadRequest, "bad_limit", f"limit must be a whole number 1-{MAX_AUDIT_LIMIT}."
        )
    return int(raw)


async def order_lookup_audit(request: web.Request) -> web.Response:
    """The order panel's audit log, newest first; admins only."""
    state = app_state(request.app)
    await require_agent(request, roles=("admin",))
    limit = _limit(request)
    raw = cast(
        list[tuple[str, dict[str, str]]],
        await state.redis.xrevrange(state.keys.order_lookups, count=limit),
    )
    lookups = [
        {
            "at": int(fields.get("at", "0") or 0),
            "agent": fields.get("agent", ""),
            "conversation": fields.get("conversation", ""),
            "order_number": fields.get("order", ""),
            "outcome": fields.get("outcome", ""),
        }
        for _, fields in raw
    ]
    return web.json_response({"lookups": lookups})
