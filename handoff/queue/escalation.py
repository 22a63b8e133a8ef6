"""The live-agent queue: escalation into it, the customer's view of it, leaving it.

Escalation builds the handoff packet (what an agent needs to pick the chat up without asking
the customer to repeat themselves) and queues the conversation by priority, first come first
served within a priority. When no agent of the team is online, or it is outside business hours,
the customer is told so honestly and offered to leave a message instead of waiting for nobody.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from handoff.conversations.keys import HANDLING_SAMPLES, STATS_TTL, Keys
from handoff.conversations.store import ConversationStore, Entry, now_ms
from handoff.privacy import mask
from handoff.settings import Settings

log = logging.getLogger(__name__)

# Dashboard samples (waits, first responses, handling times) are kept per day as a histogram of
# whole seconds in the day's stats hash: `<name>:<seconds>` -> how many. A day's median needs no
# unbounded list, and a day expires with its counters.
SAMPLE_SERIES = ("wait_s", "first_response_s", "handling_s")

REASON_TEXT = {
    "crisis": "customer may be in crisis: respond first",
    "risk": "needs urgent attention",
    "distress": "customer is distressed",
    "anger": "customer is angry",
    "frustration": "customer is frustrated",
    "complex": "several problems or a compensation demand",
    "human_request": "customer asked for a person",
    "order_delayed": "order is delayed",
    "verification_failed": "order verification failed",
    "bot_fallback": "the assistant could not help",
    "bot_unavailable": "the assistant was unavailable",
}


@dataclass(frozen=True)
class QueueStatus:
    position: int
    estimate_seconds: int
    free_slots: int

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "queue",
            "position": self.position,
            "estimate_seconds": self.estimate_seconds,
        }


def is_open(settings: Settings, at: dt.datetime | None = None) -> bool:
    windows = settings.business_hours.windows()
    if not windows:
        return True
    local = (at or dt.datetime.now(dt.timezone.utc)).astimezone(
        ZoneInfo(settings.business_hours.timezone)
    )
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in windows.get(local.weekday(), []))


class LiveQueue:
    def __init__(self, redis: Redis, keys: Keys, store: ConversationStore, settings: Settings):
        self.redis = redis
        self.keys = keys
        self.store = store
        self.settings = settings
        self._staffing: dict[str, tuple[float, asyncio.Future[tuple[int, float]]]] = {}

    async def team_agents(self, team: str) -> list[str]:
        return [name for name, _ in await self._team_accounts(team)]

    async def _team_accounts(self, team: str) -> list[tuple[str, int]]:
        """(name, capacity) of the team's agents, in two round trips whatever their number:
        every waiting customer's socket asks this when a queue moves."""
        names = sorted(str(n) for n in await self.redis.smembers(self.keys.agents))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hmget(self.keys.agent(name), ["teams", "capacity"])
            rows = await pipe.execute()
        result = []
        for name, (raw_teams, capacity) in zip(names, rows, strict=True):
            teams = json.loads(raw_teams) if raw_teams else [self.settings.default_team]
            if team in teams:
                result.append((name, int(capacity or self.settings.agent_capacity)))
        return result

    async def free_slots(self, team: str) -> tuple[int, int]:
        """(agents online in the team, free chat slots among them)."""
        accounts = await self._team_accounts(team)
        if not accounts:
            return 0, 0
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.presence, [name for name, _ in accounts])
            for name, _ in accounts:
                pipe.scard(self.keys.agent_chats(name))
            presence, *loads = await pipe.execute()
        online = 0
        free = 0
        for (_, capacity), status, load in zip(accounts, presence, loads, strict=True):
            if status != "online":
                continue
            online += 1
            free += max(0, capacity - int(load))
        return online, free

    async def average_handling_seconds(self) -> float:
        samples = [float(x) for x in await self.redis.lrange(self.keys.handling_times, 0, -1)]
        return sum(samples) / len(samples) if samples else self.settings.default_handling_seconds

    async def staffing(self, team: str, fresh_after: float | None = None) -> tuple[int, float]:
        """(free chat slots in the team, average handling seconds).

        When a queue moves, every waiting customer's socket on this replica asks for this at
        once. A computation that started after `fresh_after` (loop time, e.g. when the caller
        heard of the move) already reflects the move, so those callers share one.
        """
        loop = asyncio.get_running_loop()
        started, task = self._staffing.get(team, (-1.0, None))
        if (
            task is None
            or fresh_after is None
            or started < fresh_after
            or (task.done() and (task.cancelled() or task.exception() is not None))
        ):
            started, task = loop.time(), asyncio.ensure_future(self._staffing_now(team))
            self._staffing[team] = (started, task)
        return await asyncio.shield(task)

    async def _staffing_now(self, team: str) -> tuple[int, float]:
        _, free = await self.free_slots(team)
        return free, await self.average_handling_seconds()

    async def status(
        self, cid: str, team: str, fresh_after: float | None = None
    ) -> QueueStatus | None:
        position = await self.store.queue_position(cid, team)
        if position is None:
            return None
        free, handling = await self.staffing(team, fresh_after)
        # With F free slots, the customer at position P waits for about (P-1)/F chats to finish
        # before theirs starts; with none free, for P chats to end one handling time at a time.
        slots = max(free, 1)
        estimate = ((position - 1) / slots + (0 if free else 1)) * handling
        if free and position <= free:
            estimate = 0
        return QueueStatus(position, int(estimate), free)

    async def escalate(
        self, cid: str, reason: str, priority: int, source: str, details: dict[str, Any]
    ) -> bool:
        """Queue the conversation for a person; False (and an offer to leave a message) if
        nobody can take it now."""
        conversation = await self.store.get(cid)
        if conversation is None or conversation.get("state") != "bot":
            return False
        team = conversation.get("team") or self.settings.default_team
        await self.count("escalation_attempts")
        online, _ = await self.free_slots(team)
        if online == 0 or not is_open(self.settings):
            why = (
                "outside our opening hours"
                if online and not is_open(self.settings)
                else ("no agent is available right now")
            )
            await self.store.append(
                cid,
                "system",
                f"I'm sorry, {why}. Leave your email address and a message and we'll reply by "
                "email within one business day.",
                kind="event",
                event="offer_leave_message",
                reason=reason,
            )
            await self.count("unstaffed")
            return False
        packet = await self.build_packet(cid, reason, priority, source, details)
        result = await self.store.move(
            cid,
            allowed=["bot"],
            new_state="queued",
            event_text="You're in the queue for a person. They will see this whole chat.",
            priority=priority,
            fields={
                "reason": reason,
                "queued_at": now_ms(),
                "packet": json.dumps(packet),
                "escalations": int(conversation.get("escalations", "0") or 0) + 1,
            },
            event={"reason": reason},
        )
        if result.ok:
            await self.store.publish({"q": team})
            await self.count_once(cid, conversation, "handed_off_at", "handoffs")
            await self.count_once(cid, conversation, "person_needed_at", "person_needed")
        return result.ok

    async def build_packet(
        self, cid: str, reason: str, priority: int, source: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        entries = await self.store.read_all(cid)
        first_customer = next((e.text for e in entries if e.sender == "customer"), "")
        summary = str(details.get("summary") or "")
        if not summary:
            summary = f"{REASON_TEXT.get(reason, reason).capitalize()}: “{first_customer[:120]}”"
        intents = details.get("intents") if isinstance(details.get("intents"), list) else []
        slots: dict[str, Any] = details["slots"] if isinstance(details.get("slots"), dict) else {}
        conversation = await self.store.get(cid) or {}
        return {
            "reason": reason,
            "reason_text": REASON_TEXT.get(reason, reason),
            "priority": priority,
            "source": source,
            "summary": mask(summary),
            "intents": intents,
            "slots": {k: v for k, v in slots.items() if k not in {"email", "postal_code"}},
            "sentiment": sentiment_trend(entries, conversation),
            "scores": details.get("scores") or {},
            "escalated_at": now_ms(),
        }

    async def cancel(self, cid: str) -> bool:
        conversation = await self.store.get(cid)
        if conversation is None:
            return False
        # What the customer wrote while waiting was for a person: the bot starts after it.
        cursor = conversation.get("last_id") or conversation.get("bot_cursor") or "0-0"
        result = await self.store.move(
            cid,
            allowed=["queued"],
            new_state="bot",
            event_text="You left the queue. You're back with the assistant.",
            fields={"bot_cursor": cursor},
            event={"reason": "customer_cancelled"},
        )
        if result.ok:
            await self.store.publish({"q": conversation.get("team", self.settings.default_team)})
        return result.ok

    async def leave_message(self, cid: str, email: str, text: str) -> str:
        ticket_id = await self.redis.xadd(
            self.keys.tickets,
            {
                "conversation": cid,
                "email": email,
                "text": text,
                "at": str(now_ms()),
                "status": "open",
            },
        )
        await self.store.append(
            cid,
            "system",
            "Thanks, your message is with our team. We'll reply by email within one business day.",
            kind="event",
            event="ticket_created",
        )
        await self.count("tickets")
        conversation = await self.store.get(cid)
        if conversation is not None:
            await self.count_once(cid, conversation, "person_needed_at", "person_needed")
        await self.store.publish({"tickets": True})
        return str(ticket_id)

    async def record_handling(self, seconds: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.handling_times, round(seconds, 1))
            pipe.ltrim(self.keys.handling_times, 0, HANDLING_SAMPLES - 1)
            await pipe.execute()
        await self.record_sample("handling_s", seconds)

    async def count(self, name: str, amount: int = 1, day: str | None = None) -> None:
        """Add to a dashboard counter of a day (today, UTC, unless given)."""
        key = self.keys.daily_stats(day or day_of(now_ms()))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, name, amount)
            pipe.expire(key, STATS_TTL)
            await pipe.execute()

    async def count_once(
        self, cid: str, conversation: dict[str, str], marker: str, counter: str
    ) -> None:
        """Count a conversation at most once, on the day it started.

        Counting each conversation once and in the cohort of its start day is what keeps
        rates such as handoffs / conversations between 0 and 1 whatever the customer does.
        """
        if await self.redis.hsetnx(self.keys.conversation(cid), marker, now_ms()):
            started = int(conversation.get("created_at") or now_ms())
            await self.count(counter, day=day_of(started))

    async def record_sample(self, series: str, seconds: float) -> None:
        """One duration for a day's median (see SAMPLE_SERIES)."""
        await self.count(f"{series}:{max(0, int(seconds))}")


def day_of(at_ms: int) -> str:
    return dt.datetime.fromtimestamp(at_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


def median_of_histogram(counts: dict[int, int]) -> float | None:
    """The median of samples given as value -> how many times it occurred."""
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted(counts.items())

    def nth(n: int) -> int:  # the n-th smallest sample, 0-based
        for value, many in ordered:
            if n < many:
                return value
            n -= many
        raise IndexError(n)

    middle = total // 2
    if total % 2:
        return float(nth(middle))
    return (nth(middle - 1) + nth(middle)) / 2


def sentiment_trend(entries: list[Entry], conversation: dict[str, str]) -> list[dict[str, Any]]:
    """Per customer message, how negative triage judged it (0 calm .. 1 upset), oldest first."""
    trend = []
    for entry in entries:
        if entry.sender != "customer":
            continue
        raw = conversation.get(f"triage:{entry.id}")
        if not raw:
            continue
        scores = json.loads(raw)
        upset = max(
            (float(scores.get(k, 0.0)) for k in ("anger", "frustration", "distress")), default=0.0
        )
        trend.append({"id": entry.id, "upset": round(upset, 3)})
    return trend
