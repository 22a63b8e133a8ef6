"""The archive's tables. Alembic owns the schema (handoff/archive/migrations); these definitions
are what the code reads and writes, and a test checks that the migrations produce exactly them.

Times are epoch milliseconds, as everywhere in the service. Lists and objects (tags, the handoff
packet, an entry's buttons) are JSON text, so SQLite and PostgreSQL store them the same way.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# A UTC day in epoch milliseconds: the dashboard's days and the retention period.
DAY_MS = 86_400_000

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("started_at", BigInteger, nullable=False),
    Column("last_activity_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger),
    # The last state seen: bot, queued, assigned or closed.
    Column("state", String(16), nullable=False),
    # Why it went to a person (an escalation reason), if it did.
    Column("handoff_reason", String(40)),
    Column("team", String(64)),
    Column("agent", String(64)),
    Column("tags", Text, nullable=False, default="[]"),
    Column("notes", Text, nullable=False, default=""),
    Column("rating", Integer),
    Column("rating_comment", Text),
    # The customer's answer (1-5) to the follow-up email's "was it resolved?" and when they
    # gave it (their latest click: a changed answer replaces both). A second question, asked
    # days after the chat: the chat's own `rating` stays beside it.
    Column("follow_up_rating", Integer),
    Column("follow_up_rated_at", BigInteger),
    # The clocks of its time with a person, as the conversation hash last held them (docs/
    # protocol.md defines the figures; handoff/archive/dashboard.py reads them with the
    # transcript): when it last entered a queue, when a person last took it (claim, transfer
    # to them, a ticket taken), and whether the first response to that latest time in the queue
    # passed its target (null: not known, as for conversations archived before this was kept).
    Column("queued_at", BigInteger),
    Column("assigned_at", BigInteger),
    Column("first_response_breached", Boolean),
    Column("packet", Text),
    # Who the customer is, only as far as they proved it (a verified order's email) or gave it
    # (a left message): what an agent searches by, and what export and erasure find.
    Column("customer_email", String(254)),
    Column("order_number", String(32)),
    Index("ix_conversations_last_activity", "last_activity_at"),
    Index("ix_conversations_email", "customer_email"),
    Index("ix_conversations_order", "order_number"),
)

entries = Table(
    "entries",
    metadata,
    Column(
        "conversation_id",
        String(32),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The transcript stream's entry id ("1733480000000-0"): unique within a conversation, and
    # what makes a repeated archive write of the same entry a no-op.
    Column("entry_id", String(40), primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("sender", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("data", Text),
    Index("ix_entries_at", "at"),
)

erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    # What was looked for ("email" or "order_number"), never the value: the audit log must not
    # keep what was erased.
    Column("subject_kind", String(16), nullable=False),
    Column("conversations", Integer, nullable=False),
    Column("details", Text, nullable=False, default="{}"),
)
