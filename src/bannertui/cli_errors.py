"""The command line's one error path: every failure of every command becomes one line on
stderr, ``bannertui: <cause>``, and exit code 1 (a refusal: the rules, the database, the
network said no) or 2 (unusable input: usage, an argument, the configuration).  A failure
nobody foresaw is the same one line, its traceback kept in the log file only.

Nothing here runs at import: :func:`run` is called by ``bannertui.cli.main``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from typer.exceptions import Abort, TyperException

REFUSED = 1
UNUSABLE = 2
NOT_UTF8 = "the argument is not valid UTF-8 text"

log = logging.getLogger("bannertui.cli")


class Failure(Exception):
    """One line and an exit code, raised where a command knows the cause."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def line(message: str) -> str:
    """``message`` as one safe line: whitespace runs collapsed, control characters shown."""
    from bannertui.domain.text import one_line

    return one_line(message)


def _valued_options(command: Any) -> set[str]:
    """Every option name of the command tree (typer's click commands) that takes a value."""
    valued: set[str] = set()
    stack = [command]
    while stack:
        cmd = stack.pop()
        for param in cmd.params:
            if getattr(param, "param_type_name", "") == "option" and not (
                param.is_flag or param.count
            ):
                valued.update(param.opts, param.secondary_opts)
        stack.extend(getattr(cmd, "commands", {}).values())
    return valued


def check_argv(command: Any, argv: Sequence[str]) -> None:
    """Refuse an argument that is not UTF-8 (argv holds its bytes as surrogate escapes), naming
    the option it is the value of: the same line for every command and option."""
    from bannertui.domain.text import has_lone_surrogate

    valued: set[str] | None = None
    for i, arg in enumerate(argv):
        if not has_lone_surrogate(arg):
            continue
        name, sep, _ = arg.partition("=")
        if sep and name.startswith("--") and not has_lone_surrogate(name):
            raise Failure(f"{name}: {NOT_UTF8}", UNUSABLE)
        if valued is None:
            valued = _valued_options(command)
        before = argv[i - 1] if i else ""
        if before in valued:
            raise Failure(f"{before}: {NOT_UTF8}", UNUSABLE)
        raise Failure(NOT_UTF8, UNUSABLE)


def _is_usage(exc: BaseException) -> bool:
    """A usage error of the command line (typer's click ``UsageError``: exit code 2)."""
    return isinstance(exc, TyperException) and exc.exit_code == UNUSABLE


def _usage(exc: TyperException) -> str:
    """A usage error as one line: the command, the cause, and where to read more."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "bannertui"
    where = path.partition(" ")[2]
    message = exc.format_message().rstrip(".")
    return f"{where + ': ' if where else ''}{message} (see `{path} --help`)"


def describe(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the line for an error we know; None for one we did not foresee."""
    from bannertui.config import ConfigError
    from bannertui.domain.errors import BannerError, InvalidAmount
    from bannertui.store.database import DatabaseError, InvalidDatabaseUrl
    from bannertui.store.secrets import SecretError
    from bannertui.store.seed import SeedError

    if isinstance(exc, Failure):
        return exc.code, exc.message
    if isinstance(exc, TyperException):
        if _is_usage(exc):
            return UNUSABLE, _usage(exc)
        return exc.exit_code or REFUSED, exc.format_message()
    if isinstance(exc, Abort):
        return REFUSED, "aborted"
    if isinstance(exc, InvalidAmount):
        return UNUSABLE, exc.message
    if isinstance(exc, BannerError):
        return REFUSED, exc.message
    if isinstance(exc, (ConfigError, InvalidDatabaseUrl)):
        return UNUSABLE, str(exc)
    if isinstance(exc, (DatabaseError, SeedError, SecretError, ValueError)):
        return REFUSED, str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return REFUSED, f"{where}{exc.strerror}"
    return None


def _unforeseen(exc: BaseException) -> str:
    """The line for an error nobody foresaw; its traceback goes to the log file only."""
    from bannertui.config import data_dir
    from bannertui.logs import log_to_file

    path = log_to_file(data_dir() / "bannertui.log")
    log.error("unexpected error", exc_info=exc)
    kept = f"the details are in {path}" if path else "the details could not be logged"
    return f"unexpected error: {type(exc).__name__}: {exc} ({kept})"


def _help_for_no_args(exc: BaseException) -> bool:
    """``bannertui db`` (a group without its command): typer has printed its help."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def run(command: Any, argv: Sequence[str] | None = None) -> int:
    """Run the command line (``command``: typer's click command); returns its exit code,
    every failure reported as one line."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        check_argv(command, args)
        result: Any = command.main(args=args, prog_name="bannertui", standalone_mode=False)
    except KeyboardInterrupt:
        print("bannertui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bannertui … | head`: the reader left; nothing to say
        return REFUSED
    except Exception as exc:
        if _help_for_no_args(exc):
            return UNUSABLE
        known = describe(exc)
        code, message = known if known is not None else (REFUSED, _unforeseen(exc))
        print(f"bannertui: {line(message)}", file=sys.stderr)
        return code
    # A command's return is None; an exit code comes back from typer.Exit / ctx.exit.
    return result if isinstance(result, int) else 0
