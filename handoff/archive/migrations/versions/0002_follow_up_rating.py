"""The follow-up email's rating on an archived conversation, for the dashboard's CSAT.

Revision ID: 0002_follow_up_rating
Revises: 0001_archive
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_follow_up_rating"
down_revision = "0001_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: every conversation archived before has no follow-up answer on
    # record, and adding a nullable column rewrites no row on either database.
    op.add_column("conversations", sa.Column("follow_up_rating", sa.Integer))
    op.add_column("conversations", sa.Column("follow_up_rated_at", sa.BigInteger))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+), not a batch copy: recreating the
    # table would drop the old one, and with foreign keys on that deletes every entry.
    op.drop_column("conversations", "follow_up_rated_at")
    op.drop_column("conversations", "follow_up_rating")
