"""News of a returning customer's order, told before they ask.

When a customer comes back to their conversation (a `hello` with a resume token) and the chat is
with the assistant, and they proved an order is theirs earlier in it (`verified_order`, recorded
as soon as the assistant verified it, whether or not the chat ever reached a person:
handoff/assistant/turns.py, handoff/queue/context.py), the order is looked up in the shop's
order store. If it is delayed or has an exception, the assistant's message opens the chat:
the news, the new estimate if there is one, and the offer of a person (the buttons the assistant
offers a person with everywhere: assistant/turns.py). The widget opens its panel for it.

What counts as news (`order_news`):

- **delayed**: the store's `delayed` state (the carrier reported a problem in transit);
- **exception**: a state naming a problem with the parcel (`exception`, `lost`, `damaged`,
  `delivery_failed`, `returned_to_sender`: none is in the demo data, a shop's carrier feed may
  set them), and an order still on its way (`shipped`, `out_for_delivery`) past its estimated
  delivery day: nobody said so, but the customer is waiting for a parcel that is late.

Cancelled and returned orders are not news: the customer did that themselves.

**Told once per state**: the conversation keeps what it was told (`order_news_told`, the order
and the kind of news), set with a compare-and-set before the message is written, so a customer
who comes back twice, or with two tabs at once, is told once; a later, different news (delayed,
then lost) is told again. A message lost between the mark and the write is not told at all:
at most once, as a notice should be.

The look-up is bounded by ORDERS_DB_TIMEOUT_SECONDS and runs after the `welcome` is sent, so a
store that is down or slow costs the notice, never the hello: the chat goes on without it.
Only chats with the assistant: a customer waiting for or talking to a person has one already,
and a closed chat cannot take the offer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from handoff.assistant.turns import OFFER_BUTTONS
from handoff.state import AppState
from orders.dates import day_text
from orders.store import Order, OrderStoreUnavailable

log = logging.getLogger(__name__)

TOLD_FIELD = "order_news_told"
EXCEPTION_STATES = frozenset(
    {"exception", "lost", "damaged", "delivery_failed", "returned_to_sender"}
)
IN_TRANSIT = frozenset({"shipped", "out_for_delivery"})


@dataclass(frozen=True)
class OrderNews:
    kind: str  # "delayed" or "exception"
    text: str


def order_news(order: Order, today: dt.date) -> OrderNews | None:
    """What the customer should hear about their order before they ask, or None."""
    number = order.order_number
    offer = "Would you like to talk to a person about it?"
    if order.state == "delayed":
        estimate = (
            f"The new estimated delivery date is {day_text(order.estimated_delivery)}."
            if order.estimated_delivery
            else "We don't have a new delivery estimate yet."
        )
        return OrderNews(
            "delayed",
            f"Welcome back. Before you ask: your order {number} is delayed; the carrier "
            f"reported a problem in transit. {estimate} {offer}",
        )
    if order.state in EXCEPTION_STATES:
        what = order.state.replace("_", " ")
        return OrderNews(
            "exception",
            f"Welcome back. Before you ask: there is a problem with your order {number} "
            f"(the carrier says: {what}). {offer}",
        )
    late = order.estimated_delivery is not None and order.estimated_delivery < today
    if order.state in IN_TRANSIT and late and order.delivered_at is None:
        assert order.estimated_delivery is not None
        return OrderNews(
            "exception",
            f"Welcome back. Before you ask: your order {number} was expected by "
            f"{day_text(order.estimated_delivery)} and has not been delivered yet. {offer}",
        )
    return None


async def tell_order_news(state: AppState, cid: str, conversation: dict[str, str]) -> bool:
    """Tell the returning customer their verified order's news, once per news; True if told.
    Never raises for the order store or Redis: a notice is not worth a failed chat."""
    number = conversation.get("verified_order") or ""
    if conversation.get("state") != "bot" or not number:
        return False
    try:
        order = await state.orders.find_async(number)
    except OrderStoreUnavailable:
        log.info("order store unavailable: no order news for a returning customer")
        return False
    news = order_news(order, dt.datetime.now(dt.timezone.utc).date()) if order else None
    if news is None:
        return False
    told = f"{number}:{news.kind}"
    try:
        (before,) = await state.store.fields_of(cid, TOLD_FIELD)
        if before == told or not await state.store.set_fields(
            cid, {TOLD_FIELD: told}, unless_changed=(TOLD_FIELD, before or "")
        ):
            return False
        await state.store.append(
            cid,
            "bot",
            news.text,
            buttons=OFFER_BUTTONS,
            data={"proactive": news.kind, "order": number},
        )
    except (RedisError, KeyError) as error:
        log.warning("order news not told: %r", error)
        return False
    return True
