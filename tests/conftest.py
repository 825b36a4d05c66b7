"""Test configuration: each fixture module is owned by one area and registered here."""

import os

# TensorFlow's C++ banner is noise in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = [
    "tests.fixtures_store",  # real SQLite stores and configs in tmp_path
    "tests.fixtures_model",  # the tiny gpt-2-simple model, made offline once per session
    "tests.fixtures_servers",  # mastodon_mock and the local scrape site on 127.0.0.1
    "tests.fixtures_pg",  # a real PostgreSQL server (session) and db_url over sqlite and postgresql
]
