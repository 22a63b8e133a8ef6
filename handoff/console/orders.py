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
  stream and a log line, before the answer leaves. If it cannot be recorded the answer is 503:
  no order is shown unaudited.

The order's email address and postal code never leave this module: they are what a customer
proves ownership with, and an agent who sees them could be talked into "confirming" them.

The order store answers within ORDERS_DB_TIMEOUT_SECONDS or the answer is 503; its lookups run
on threads of their own (handoff/app.py gives the store a small pool), so a database that hangs
holds up the order panel and nothing else.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from aiohttp import web

from handoff.console.access import CONSOLE_ROLES, viewable_conversation
from handoff.console.sessions import require_agent
from handoff.conversations.entry import json_or_none
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
    # Ids and an outcome only: the order's contents and the customer's name never reach a log.
    log.info(
        "order lookup: agent=%s conversation=%s order=%s outcome=%s",
        agent,
        cid,
        order_number,
        outcome,
    )


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
