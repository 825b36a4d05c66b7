"""Posting: publishers (Mastodon, outbox), login, the jobs, the long-lived worker, and doctor."""
