"""Shared fixtures of the command-line tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bannertui.logs import OWN


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """The logging set-up as it was before the test (log_to_file changes global state)."""
    names = ["", *OWN]
    saved = [
        (logging.getLogger(n), list(logging.getLogger(n).handlers), logging.getLogger(n).level)
        for n in names
    ]
    propagate = {n: logging.getLogger(n).propagate for n in OWN}
    yield
    for logger, handlers, level in saved:
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers = handlers
        logger.setLevel(level)
    for n, value in propagate.items():
        logging.getLogger(n).propagate = value
