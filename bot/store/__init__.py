"""Persistence: the candidate snapshot, the ORM tables, the store's transitions, the fast read path,
the importer of bio files, and the Alembic migrations.

Import what you need from its module (`bot.store.store.Store`, `bot.store.candidate.Candidate`):
this package imports nothing itself, so read-only commands never pay for SQLAlchemy.
"""
