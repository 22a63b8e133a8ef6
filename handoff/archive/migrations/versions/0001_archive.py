"""The conversation archive: conversations, their transcript entries, erasures.

Revision ID: 0001_archive
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_archive"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("last_activity_at", sa.BigInteger, nullable=False),
        sa.Column("closed_at", sa.BigInteger),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("handoff_reason", sa.String(40)),
        sa.Column("team", sa.String(64)),
        sa.Column("agent", sa.String(64)),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("rating", sa.Integer),
        sa.Column("rating_comment", sa.Text),
        sa.Column("packet", sa.Text),
        sa.Column("customer_email", sa.String(254)),
        sa.Column("order_number", sa.String(32)),
    )
    op.create_index("ix_conversations_last_activity", "conversations", ["last_activity_at"])
    op.create_index("ix_conversations_email", "conversations", ["customer_email"])
    op.create_index("ix_conversations_order", "conversations", ["order_number"])
    op.create_table(
        "entries",
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", sa.Text),
    )
    op.create_index("ix_entries_at", "entries", ["at"])
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("conversations", sa.Integer, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_index("ix_entries_at", "entries")
    op.drop_table("entries")
    op.drop_index("ix_conversations_order", "conversations")
    op.drop_index("ix_conversations_email", "conversations")
    op.drop_index("ix_conversations_last_activity", "conversations")
    op.drop_table("conversations")
