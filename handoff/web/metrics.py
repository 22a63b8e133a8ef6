"""Prometheus metrics of one service instance (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16)
PAUSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.customer_sockets = Gauge(
            "harbor_customer_sockets", "Open customer websockets on this replica", registry=r
        )
        self.agent_sockets = Gauge(
            "harbor_agent_sockets", "Open agent console websockets on this replica", registry=r
        )
        self.conversations = Counter(
            "harbor_conversations_started", "Conversations opened by the gateway", registry=r
        )
        self.customer_messages = Counter(
            "harbor_customer_messages", "Customer messages stored", registry=r
        )
        self.bot_turns = Histogram(
            "harbor_bot_turn_seconds",
            "Triage + Rasa time per customer message",
            ["outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # Graceful overload (handoff/assistant/overload.py), by Rasa replica.
        self.bot_turns_in_flight = Gauge(
            "harbor_bot_turns_in_flight",
            "Bot turns this replica has at the Rasa replica now (at most BOT_TURNS_IN_FLIGHT)",
            ["rasa"],
            registry=r,
        )
        self.bot_turns_waiting = Gauge(
            "harbor_bot_turns_waiting",
            "Bot turns waiting in line for a place at the Rasa replica",
            ["rasa"],
            registry=r,
        )
        self.bot_turn_waits = Histogram(
            "harbor_bot_turn_wait_seconds",
            "Time a bot turn waited in line: admitted (then sent to Rasa) or shed (not sent)",
            ["rasa", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.bot_turns_shed = Counter(
            "harbor_bot_turns_shed",
            "Bot turns not sent to Rasa (past BOT_TURN_WAIT_SECONDS): a person was offered",
            ["rasa"],
            registry=r,
        )
        self.escalations = Counter(
            "harbor_escalations", "Conversations escalated, by reason", ["reason"], registry=r
        )
        self.order_lookups = Counter(
            "harbor_order_lookups",
            "Order panel lookups: found, not_found, unavailable, not_mentioned",
            ["outcome"],
            registry=r,
        )
        # Counted once per breach across replicas: whoever marks it on the conversation first
        # (the sweeper's round or the late reply) counts it (handoff/queue/stats.py).
        self.response_breaches = Counter(
            "harbor_response_target_breaches",
            "Replies that passed their response-time target, by kind (first, next) and priority",
            ["kind", "priority"],
            registry=r,
        )
        self.refusals = Counter(
            "harbor_refused", "Requests refused, by cause", ["cause"], registry=r
        )

        self.gc_pauses = Histogram(
            "harbor_gc_pause_seconds",
            "Collections of the garbage collector, by generation: every socket waits meanwhile",
            ["generation"],
            buckets=PAUSE_BUCKETS,
            registry=r,
        )

    def refused(self, cause: str) -> None:
        self.refusals.labels(cause=cause).inc()

    def response_breached(self, kind: str, priority: int) -> None:
        self.response_breaches.labels(kind=kind, priority=str(priority)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
