"""Where the terminal app's logs go: a file, never the terminal the app draws on.

Without a handler, Python prints a library's warnings and errors on stderr
(``logging.lastResort``): SQLAlchemy's pool, for one, logs "Exception during reset" with a
traceback when quitting cancels a read in flight, and it landed on the agent's terminal after
the app closed.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

#: Our own loggers, kept at INFO (every other logger: WARNING and above).
OWN = ("bannertui", "uvicorn", "uvicorn.error")


def log_to_file(path: Path) -> Path | None:
    """Send our loggers (INFO and above) and every other library's warnings and errors to
    ``path`` (appended; the folder is created private, the file is made 0600: a traceback
    may quote a statement's parameters, numbers and texts).  When the file cannot be opened,
    they are dropped rather than printed over the screen.  Returns the file, or None."""
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler, used = logging.NullHandler(), None
    else:
        used = path
        with contextlib.suppress(OSError):  # not ours to change (a shared data directory)
            path.chmod(0o600)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    for name in OWN:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return used
