"""Prometheus metrics of one service instance (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16)


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
        self.escalations = Counter(
            "harbor_escalations", "Conversations escalated, by reason", ["reason"], registry=r
        )
        self.refusals = Counter(
            "harbor_refused", "Requests refused, by cause", ["cause"], registry=r
        )

    def refused(self, cause: str) -> None:
        self.refusals.labels(cause=cause).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
