"""The terminal app's logs (bannertui.logs): to a file, never on the terminal."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bannertui.logs import log_to_file


@pytest.mark.usefixtures("clean_logging")
def test_a_librarys_error_goes_to_the_file_not_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """What SQLAlchemy's pool logs when quitting cancels a read ("Exception during reset or
    similar", with its traceback) reached the agent's terminal: no handler was set, so Python
    printed it on stderr."""
    path = tmp_path / "logs" / "bannertui.log"
    assert log_to_file(path) == path
    # Every logger without a handler of its own ends at the root's: this file only (under
    # pytest the root has pytest's handlers, so "nothing on stderr" alone proves little).
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.FileHandler)
    assert Path(handler.baseFilename) == path
    try:
        raise RuntimeError("cancelled during reset")
    except RuntimeError:
        logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool").exception(
            "Exception during reset or similar"
        )
    logging.getLogger("sqlalchemy.engine").info("a statement")  # below WARNING: not kept
    logging.getLogger("bannertui.runtime").info("demo runtime started")  # ours: INFO kept
    for handler in logging.getLogger().handlers:
        handler.flush()

    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
    text = path.read_text(encoding="utf-8")
    assert "Exception during reset or similar" in text
    assert "RuntimeError: cancelled during reset" in text
    assert "demo runtime started" in text
    assert "a statement" not in text
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600  # tracebacks may quote numbers and texts


@pytest.mark.usefixtures("clean_logging")
def test_a_log_file_that_cannot_be_opened_drops_the_logs_rather_than_print_them(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    assert log_to_file(blocked / "bannertui.log") is None
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.NullHandler)
    logging.getLogger("sqlalchemy.pool").error("Exception during reset or similar")
    assert capfd.readouterr().err == ""
