"""Fixtures of the service tests (the seeded database comes from tests/conftest.py)."""

from __future__ import annotations

import pytest
from svc_helpers import Demo

from bannertui.services import Services


@pytest.fixture
def demo(services: Services) -> Demo:
    return Demo(services.db)
