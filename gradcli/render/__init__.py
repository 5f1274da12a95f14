"""Renderers: pure functions from result data to text (JSON, rich tables, error reports)."""
