"""Ranking, verdict fingerprints, threads, replies, claims, retraction; requests, state, alerts, leases.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the operations tables and the candidates' new columns."""
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("notification_id", sa.String(100), nullable=False, unique=True),
        sa.Column("status_id", sa.String(100), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False, index=True),
        sa.Column("acct", sa.String(500), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("name", sa.String(500)),
        sa.Column("pronouns", sa.String(8)),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("first_at", sa.DateTime, nullable=False),
        sa.Column("last_sent_at", sa.DateTime),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
    )
    op.create_table(
        "leases",
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("quality", sa.Float))
        batch.add_column(sa.Column("filter_fingerprint", sa.String(64)))
        batch.add_column(sa.Column("reviewed_by", sa.String(100)))
        batch.add_column(sa.Column("status_ids", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("request_id", sa.Integer))
        batch.add_column(sa.Column("claimed_by", sa.String(200)))
        batch.add_column(sa.Column("claimed_at", sa.DateTime))
        batch.add_column(sa.Column("retracted_at", sa.DateTime))
        batch.create_foreign_key("fk_candidates_request", "requests", ["request_id"], ["id"])
        batch.create_index("ix_candidates_quality", ["quality"])
    # Bios posted before 0002 have one status: record it, so unpost and reconciliation find it.
    # Written through the JSON type, not SQL string concatenation: PostgreSQL will not store a text
    # expression in a json column, and the driver quotes the id correctly on every database.
    cands = sa.table(
        "candidates", sa.column("id", sa.Integer), sa.column("status_id", sa.String), sa.column("status_ids", sa.JSON)
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(cands.c.id, cands.c.status_id).where(cands.c.status_id.is_not(None))).all()
    if rows:
        conn.execute(
            cands.update()
            .where(cands.c.id == sa.bindparam("cid"))
            .values(status_ids=sa.bindparam("ids", type_=sa.JSON)),
            [{"cid": cid, "ids": [sid]} for cid, sid in rows],
        )


def downgrade() -> None:
    """Drop what upgrade() added."""
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_quality")
        batch.drop_constraint("fk_candidates_request", type_="foreignkey")
        for col in (
            "retracted_at",
            "claimed_at",
            "claimed_by",
            "request_id",
            "status_ids",
            "reviewed_by",
            "filter_fingerprint",
            "quality",
        ):
            batch.drop_column(col)
    for table in ("leases", "alerts", "bot_state", "requests"):
        op.drop_table(table)
