"""Fixtures shared by the test modules."""

from __future__ import annotations

import sys

import pytest

# Python's default; every deep test runs (and must pass) at this limit.
DEFAULT_RECURSION_LIMIT = 1000


@pytest.fixture
def default_recursion_limit():
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
    try:
        yield
        assert sys.getrecursionlimit() == DEFAULT_RECURSION_LIMIT, "gradcli changed the recursion limit"
    finally:
        sys.setrecursionlimit(saved)
