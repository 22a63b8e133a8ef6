"""What the handoff packet needs from outside Redis, gathered at escalation within a time bound.

- **Rasa's parse of the customer's messages** (intent ranking, FAQ topic, entities), so a chat
  the triage hands over before the assistant ever answered still tells the agent what was asked
  and which order numbers were named.
- **The order the customer proved is theirs** (the assistant's `verified_order_number` slot,
  from the conversation's Rasa tracker), and that order's customer name and email from the shop's
  order store: the console titles the chat with the name, and the customer's earlier
  conversations are found by the email.

The customer is waiting for "you're in the queue" while this runs, so everything together gets
CONTEXT_SECONDS; whatever has not answered by then is left out (the packet says less, the
escalation still happens). Rasa is not asked at all when the chat is handed over because Rasa is
down or overloaded.

The same lookup of a verified customer (`identify`, within the same bound) serves the bot turn,
which records who the customer is as soon as the assistant's verified-order notice says so
(`ContextSource.customer_fields`), and the console's customer history, which finds a customer's
earlier conversations by their order's email as the order store has it, never by an address the
conversation was merely given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handoff.assistant.rasa import RasaClient
from handoff.conversations.entry import Entry
from orders.numbers import is_order_number
from orders.store import Order, OrderStore, OrderStoreUnavailable
from vocabulary.reasons import ASSISTANT_BUSY, BOT_UNAVAILABLE

log = logging.getLogger(__name__)

CONTEXT_SECONDS = 1.5
# The latest customer messages parsed: the summary lists topics from these.
MESSAGES_PARSED = 12
# Reasons that say Rasa cannot answer now: asking it again would only spend the time bound.
RASA_DOWN = frozenset({BOT_UNAVAILABLE, ASSISTANT_BUSY})


@dataclass
class Context:
    """What was gathered; a part that did not answer in time is empty."""

    parses: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    verified_order: str | None = None
    customer: Order | None = None

    def identity(self) -> dict[str, str]:
        """The conversation fields saying who the customer is, as far as they proved it: the
        console titles the chat with the name, and the archive and the console find their earlier
        conversations by the email. Nothing for a customer who proved nothing."""
        if self.verified_order is None:
            return {}
        if self.customer is None or self.customer.order_number != self.verified_order:
            return {"verified_order": self.verified_order}
        return {
            "verified_order": self.verified_order,
            "customer_name": self.customer.customer_name,
            "customer_email": self.customer.email.strip().lower(),
        }


async def find_customer(orders: OrderStore, order_number: str) -> Order | None:
    """The order a customer proved is theirs (its customer's name and email), or None when the
    store has no such order or cannot answer (logged: the caller goes on without a name)."""
    try:
        return await orders.find_async(order_number)
    except OrderStoreUnavailable:
        log.warning("order store unavailable: a verified customer is not named")
        return None


async def identify(
    orders: OrderStore, order_number: str, seconds: float = CONTEXT_SECONDS
) -> Context:
    """The Context of a customer who proved `order_number` is theirs: with the order when the store
    answers within `seconds`, without it otherwise. Never raises for the order store."""
    context = Context(verified_order=order_number)
    try:
        context.customer = await asyncio.wait_for(find_customer(orders, order_number), seconds)
    except asyncio.TimeoutError:
        log.warning("order store slower than %.1f s: a verified customer is not named", seconds)
    return context


def verified_order_in(tracker: Mapping[str, Any] | None) -> str | None:
    """The order number the customer proved to the assistant, from its tracker's slots."""
    slots = tracker.get("slots") if tracker else None
    value = slots.get("verified_order_number") if isinstance(slots, Mapping) else None
    return value if isinstance(value, str) and is_order_number(value) else None


class ContextSource:
    """Gathers a conversation's Context from Rasa and the order store."""

    def __init__(self, rasa: RasaClient, orders: OrderStore, seconds: float = CONTEXT_SECONDS):
        self.rasa = rasa
        self.orders = orders
        self.seconds = seconds

    async def customer_fields(self, order_number: str) -> dict[str, str]:
        """The conversation fields naming the customer who just proved `order_number` is theirs
        (Context.identity), the order looked up within the bound."""
        return (await identify(self.orders, order_number, self.seconds)).identity()

    async def gather(
        self, cid: str, customer: Sequence[Entry], reason: str, claimed_order: str | None
    ) -> Context:
        """The context of `cid`; `claimed_order` is a verified order the assistant's handoff
        payload already named (then the tracker is not asked)."""
        context = Context(verified_order=claimed_order)
        if reason in RASA_DOWN:
            return context
        latest = list(customer)[-MESSAGES_PARSED:]

        async def parse(entry: Entry) -> None:
            context.parses[entry.id] = await self.rasa.parse(entry.text)

        async def who() -> None:
            if context.verified_order is None:
                context.verified_order = verified_order_in(await self.rasa.tracker(cid))
            if context.verified_order is not None:
                # Within gather's own bound, shared with the parses.
                context.customer = await find_customer(self.orders, context.verified_order)

        tasks = [asyncio.ensure_future(parse(e)) for e in latest]
        tasks.append(asyncio.ensure_future(who()))
        done, pending = await asyncio.wait(tasks, timeout=self.seconds)
        for task in pending:
            task.cancel()
        if pending:
            log.info("handoff context: %d of %d lookups missed the bound", len(pending), len(tasks))
            await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.warning("handoff context lookup failed: %r", task.exception())
        return context
