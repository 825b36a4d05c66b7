"""Alembic environment: runs migrations on the connection djbios hands over (no alembic.ini needed)."""

from alembic import context

from bot.store.tables import Base

target_metadata = Base.metadata
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
