"""The installed ``bannertui`` console script, run as a real subprocess.

Every run gets ``BANNERTUI_DATA_DIR`` and ``BANNERTUI_CONFIG`` inside a temporary directory
(and no other ``BANNERTUI_*`` variable from the caller), so nothing touches the user's home.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from forked_cli import run_cli

from bannertui import __version__
from bannertui.store.migrate import head_revision

BIN = Path(sys.executable).with_name("bannertui")

MEASURE_KEYS = ["characters", "encoding", "units", "credits", "unicode", "over_limit"]
CHECK_KEYS = ["e164", "region", "type", "valid", "error"]

FR_MOBILE = "+33 6 12 34 56 78"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, object]:
        """The one JSON object a successful ``credits``/``check-number`` prints."""
        assert (self.code, self.err) == (0, ""), self
        assert self.out.endswith("\n")
        assert self.out.count("\n") == 1, self.out
        obj = json.loads(self.out)
        assert isinstance(obj, dict)
        return obj

    def error_line(self, code: int) -> str:
        """The single ``bannertui: ...`` line on stderr of a failed run (nothing on stdout)."""
        assert self.code == code, self
        assert self.out == ""
        assert self.err.endswith("\n"), self.err
        assert self.err.count("\n") == 1, self.err
        assert self.err.startswith("bannertui: "), self.err
        return self.err


def make_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(
        BANNERTUI_DATA_DIR=str(root / "data"),
        BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
        COLUMNS="200",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def run(
    env: dict[str, str],
    *args: str | bytes,
    stdin: bytes | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run the console script; ``args`` may hold bytes (raw argv, not necessarily UTF-8)."""
    proc = run_cli(args, env=env, cwd=cwd or Path(env["BANNERTUI_DATA_DIR"]).parent, stdin=stdin)
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def env(root: Path) -> dict[str, str]:
    return make_env(root)


def test_console_script_is_installed() -> None:
    assert BIN.is_file(), f"{BIN} missing: is the project installed in this venv?"


# --- --version, --help --------------------------------------------------------------------


def test_version(env: dict[str, str]) -> None:
    result = run(env, "--version")
    assert result == Result(0, f"bannertui {__version__}\n", "")


def test_help_lists_the_commands(env: dict[str, str]) -> None:
    result = run(env, "--help")
    assert result.code == 0, result
    assert "Commands" in result.out, result.out
    commands = result.out.split("Commands", 1)[1]
    for command in ("demo", "credits", "check-number", "db"):
        # "│ db   Database: ..." (rich) or "  db   Database: ..." (plain click)
        assert re.search(rf"(?m)^[^\w-]*{re.escape(command)}\s", commands), (command, result.out)


# --- credits ------------------------------------------------------------------------------


def measure(
    characters: int, encoding: str, units: int, credits: int, over_limit: bool = False
) -> dict[str, object]:
    return {
        "characters": characters,
        "encoding": encoding,
        "units": units,
        "credits": credits,
        "unicode": encoding == "UCS-2",
        "over_limit": over_limit,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Hello", measure(5, "GSM-7", 5, 1), id="hello"),
        pytest.param("€", measure(1, "GSM-7", 2, 1), id="euro-extension"),
        pytest.param("ça", measure(2, "UCS-2", 2, 1), id="c-cedilla-ucs2"),
        pytest.param("a" * 1224, measure(1224, "GSM-7", 1224, 8), id="1224-max"),
        pytest.param("a" * 1225, measure(1225, "GSM-7", 1225, 9, True), id="1225-over"),
        pytest.param("👨\u200d👩\u200d👧", measure(1, "UCS-2", 8, 1), id="zwj-family"),
        pytest.param("", measure(0, "GSM-7", 0, 0), id="empty"),
    ],
)
def test_credits_argument(env: dict[str, str], text: str, expected: dict[str, object]) -> None:
    obj = run(env, "credits", text).json()
    assert list(obj) == MEASURE_KEYS
    assert obj == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"Hello\n", measure(5, "GSM-7", 5, 1), id="lf-stripped"),
        pytest.param(b"Hello\r\n", measure(5, "GSM-7", 5, 1), id="crlf-stripped"),
        pytest.param(b"Hello\n\n", measure(6, "GSM-7", 6, 1), id="two-lf-keep-one"),
        pytest.param(b"Hello", measure(5, "GSM-7", 5, 1), id="no-newline"),
        pytest.param("Ça va ?\n".encode(), measure(7, "GSM-7", 7, 1), id="utf8-gsm"),
    ],
)
def test_credits_stdin(env: dict[str, str], data: bytes, expected: dict[str, object]) -> None:
    obj = run(env, "credits", stdin=data).json()
    assert list(obj) == MEASURE_KEYS
    assert obj == expected


def test_credits_stdin_not_utf8(env: dict[str, str]) -> None:
    line = run(env, "credits", stdin=b"\xff\xfe").error_line(2)
    assert "UTF-8" in line


@pytest.mark.parametrize("arg", [b"\xff", b"a\xffb", b"\xed\xa0\x80"], ids=["ff", "mid", "surr"])
def test_credits_argv_not_utf8(env: dict[str, str], arg: bytes) -> None:
    line = run(env, "credits", arg).error_line(2)
    assert "UTF-8" in line


def test_text_commands_leave_data_dir_alone(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    run(env, "credits", "hi").json()
    run(env, "check-number", FR_MOBILE).json()
    assert not (tmp_path / "data").exists()


# --- check-number -------------------------------------------------------------------------


def check(e164: str | None, region: str | None, type_: str | None, error: str | None) -> dict:
    return {"e164": e164, "region": region, "type": type_, "valid": error is None, "error": error}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([FR_MOBILE], check("+33612345678", "FR", "MOBILE", None), id="fr-mobile"),
        pytest.param(
            ["+33 1 23 45 67 89"],
            check("+33123456789", "FR", "FIXED_LINE", "Invalid number"),
            id="fr-landline",
        ),
        pytest.param(["0612345678"], check(None, None, None, "Invalid number"), id="national"),
        pytest.param(
            ["--allow", "BE,ch", FR_MOBILE],
            check("+33612345678", "FR", "MOBILE", "Country not authorized"),
            id="not-allowed",
        ),
        pytest.param(
            [FR_MOBILE, "--allow", "be;fr"],
            check("+33612345678", "FR", "MOBILE", None),
            id="allowed",
        ),
    ],
)
def test_check_number(env: dict[str, str], args: list[str], expected: dict) -> None:
    obj = run(env, "check-number", *args).json()
    assert list(obj) == CHECK_KEYS
    assert obj == expected


def test_check_number_unknown_allow_code(env: dict[str, str]) -> None:
    line = run(env, "check-number", "--allow", "FR,XX", FR_MOBILE).error_line(2)
    assert "XX" in line


def test_check_number_argv_not_utf8(env: dict[str, str]) -> None:
    line = run(env, "check-number", b"+33\xff612345678").error_line(2)
    assert "UTF-8" in line


# --- db -----------------------------------------------------------------------------------


def assert_upgrade_then_up_to_date(first: Result, second: Result) -> None:
    head = head_revision()
    assert (first.code, first.err) == (0, ""), first
    assert first.out == f"database schema: empty -> {head}\n"
    assert second == Result(0, f"database schema is up to date ({head})\n", "")


def test_db_upgrade_with_flag(root: Path, env: dict[str, str]) -> None:
    path = root / "flag" / "x.sqlite3"
    path.parent.mkdir()  # a typed path's directory is not made (see test_bad_input.py)
    first = run(env, "db", "upgrade", "--db", sqlite_url(path))
    second = run(env, "db", "upgrade", "--db", sqlite_url(path))
    assert_upgrade_then_up_to_date(first, second)
    assert path.is_file()
    assert not (root / "data").exists()


def test_db_upgrade_with_env_var(root: Path) -> None:
    path = root / "envvar.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert_upgrade_then_up_to_date(run(env, "db", "upgrade"), run(env, "db", "upgrade"))
    assert path.is_file()


def test_db_flag_wins_over_env_var(root: Path) -> None:
    path = root / "flag-wins.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL="mysql://ignored/db")
    result = run(env, "db", "upgrade", "--db", sqlite_url(path))
    assert result.code == 0, result
    assert path.is_file()


def test_db_upgrade_default_is_in_data_dir(tmp_path: Path) -> None:
    result = run(make_env(tmp_path), "db", "upgrade")
    assert result.code == 0, result
    assert (tmp_path / "data" / "bannertui.sqlite3").is_file()


def test_db_url_from_config_file(tmp_path: Path) -> None:
    path = tmp_path / "from-config.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f"database_url = {json.dumps(sqlite_url(path))}\n", encoding="utf-8")
    result = run(make_env(tmp_path, BANNERTUI_CONFIG=str(config)), "db", "upgrade")
    assert result.code == 0, result
    assert path.is_file()
    assert not (tmp_path / "data").exists()


def test_db_seed_demo_once(root: Path, env: dict[str, str]) -> None:
    url = sqlite_url(root / "seed.sqlite3")
    assert run(env, "db", "seed-demo", "--db", url) == Result(0, "demo data loaded\n", "")
    line = run(env, "db", "seed-demo", "--db", url).error_line(1)
    # the second time, the database has agents: only an administrator could add the demo
    # beside its administrators, and this OS account is no agent of it
    assert line == f"bannertui: Unknown agent: {pwd.getpwuid(os.getuid()).pw_name}\n"


def test_db_unsupported_url(env: dict[str, str]) -> None:
    line = run(env, "db", "upgrade", "--db", "mysql://x/y").error_line(2)
    assert "mysql://x/y" in line


def test_db_unsupported_url_hides_password(env: dict[str, str]) -> None:
    line = run(env, "db", "upgrade", "--db", "mysql://u:s3cret@x/y").error_line(2)
    assert "mysql://u:" in line
    assert "s3cret" not in line


@pytest.mark.parametrize("below", ["x.sqlite3", "sub/x.sqlite3"])
def test_db_directory_is_a_file(root: Path, env: dict[str, str], below: str) -> None:
    blocker = root / f"blocker-{below.count('/')}"
    blocker.write_text("not a directory\n")
    line = run(env, "db", "upgrade", "--db", sqlite_url(blocker / below)).error_line(1)
    assert str(blocker) in line
