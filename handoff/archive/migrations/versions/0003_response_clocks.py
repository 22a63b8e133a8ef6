"""The clocks of a conversation's time with a person, for the dashboard's waits, first
responses, handling times and first responses within target over long periods.

Revision ID: 0003_response_clocks
Revises: 0002_follow_up_rating
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_response_clocks"
down_revision = "0002_follow_up_rating"
branch_labels = None
depends_on = None

# The tables as this revision finds them, as far as the backfill reads and writes them.
_conversations = sa.table(
    "conversations",
    sa.column("id"),
    sa.column("handoff_reason"),
    sa.column("closed_at"),
    sa.column("queued_at"),
    sa.column("assigned_at"),
)
_entries = sa.table(
    "entries", sa.column("conversation_id"), sa.column("at"), sa.column("kind"), sa.column("data")
)


def _latest_move_to(state: str) -> sa.ScalarSelect[object]:
    """When the row's conversation last moved to `state`: its transcript's latest state event
    (whose data write_batch stores as sorted-key JSON text)."""
    return (
        sa.select(sa.func.max(_entries.c.at))
        .where(
            _entries.c.conversation_id == _conversations.c.id,
            _entries.c.kind == "event",
            _entries.c.data.like(f'%"state": "{state}"%'),
        )
        .scalar_subquery()
    )


def upgrade() -> None:
    # Nullable, no default: adding them rewrites no row on either database.
    op.add_column("conversations", sa.Column("queued_at", sa.BigInteger))
    op.add_column("conversations", sa.Column("assigned_at", sa.BigInteger))
    op.add_column("conversations", sa.Column("first_response_breached", sa.Boolean))
    # Conversations archived before keep their transcript, whose state events say when each
    # last entered a queue and when a person last took it (the event is written in the same
    # step as the hash's clock, a millisecond at most after it): so the waits, first responses
    # and handling times of the whole retention period are there from the first start. Whether
    # a first response passed its target was never archived: it stays null (not known).
    # Only a handed-over conversation was ever queued; a handling time needs a close.
    op.execute(
        _conversations.update()
        .where(_conversations.c.handoff_reason.is_not(None))
        .values(queued_at=_latest_move_to("queued"))
    )
    op.execute(
        _conversations.update()
        .where(_conversations.c.closed_at.is_not(None))
        .values(assigned_at=_latest_move_to("assigned"))
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+), not a batch copy: recreating the
    # table would drop the old one, and with foreign keys on that deletes every entry.
    op.drop_column("conversations", "first_response_breached")
    op.drop_column("conversations", "assigned_at")
    op.drop_column("conversations", "queued_at")
