"""The filters: every text that can be posted passes the same pipeline (bot/filters/pipeline.py)."""
