"""Initial schema: candidates and generation batches.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the batches and candidates tables."""
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("checkpoint", sa.String(1000)),
        sa.Column("step", sa.Integer),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("seed", sa.Integer),
        sa.Column("prompt", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("seconds", sa.Float),
        sa.Column("made", sa.Integer, nullable=False),
        sa.Column("queued", sa.Integer, nullable=False),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.Text),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id")),
        sa.Column("checkpoint", sa.String(1000)),
        sa.Column("step", sa.Integer),
        sa.Column("seed", sa.Integer),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("prompt", sa.Text),
        sa.Column("pronouns", sa.String(8)),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("reviewed_at", sa.DateTime),
        sa.Column("posted_at", sa.DateTime),
        sa.Column("status_id", sa.String(100)),
        sa.Column("posted_url", sa.String(1000)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("retry_at", sa.DateTime),
        sa.Column("history", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("candidates")
    op.drop_table("batches")
