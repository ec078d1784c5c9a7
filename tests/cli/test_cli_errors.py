"""The command line's one error path (``bannertui.cli_errors``), in-process: what nobody
foresaw is still one line, its traceback in the log file only."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from bannertui import cli_errors

demo_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@demo_app.command()
def boom() -> None:
    raise RuntimeError("the \x1b[31mred\x1b[0m wire")


@demo_app.command()
def quiet() -> None:
    pass


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_logging: None) -> Path:
    """The data directory (the log file's), the logging set-up restored afterwards."""
    monkeypatch.setenv("BANNERTUI_DATA_DIR", str(tmp_path))
    return tmp_path


def test_an_unforeseen_error_is_one_line_and_its_traceback_goes_to_the_log(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_errors.run(typer.main.get_command(demo_app), ["boom"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("bannertui: unexpected error: RuntimeError: the ␛[31mred␛[0m wire")
    assert "Traceback" not in err
    assert "\x1b" not in err
    log = (data_dir / "bannertui.log").read_text()
    assert str(data_dir / "bannertui.log") in err
    assert "Traceback" in log
    assert "RuntimeError" in log


def test_a_known_error_names_its_cause_and_writes_no_log(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bannertui.domain.errors import InvalidNumber

    def refuse_number() -> None:
        raise InvalidNumber("+33 12")

    app = typer.Typer(add_completion=False)
    app.command("send")(refuse_number)
    app.command("other")(lambda: None)
    code = cli_errors.run(typer.main.get_command(app), ["send"])
    assert (code, capsys.readouterr()) == (1, ("", "bannertui: Invalid number: +33 12\n"))
    assert not (data_dir / "bannertui.log").exists()


def test_a_value_that_is_not_utf8_names_its_option() -> None:
    from bannertui.cli import app

    command = typer.main.get_command(app)
    bad = b"x\xff".decode("utf-8", "surrogateescape")
    with pytest.raises(cli_errors.Failure, match=r"^--db: the argument is not valid UTF-8"):
        cli_errors.check_argv(command, ["--db", bad])
    with pytest.raises(cli_errors.Failure, match=r"^--db: the argument"):
        cli_errors.check_argv(command, [f"--db={bad}"])
    with pytest.raises(cli_errors.Failure, match=r"^the argument is not valid UTF-8 text$"):
        cli_errors.check_argv(command, ["credits", bad])
    with pytest.raises(cli_errors.Failure, match=r"^the argument"):
        cli_errors.check_argv(command, ["serve", "--demo", bad])  # a flag takes no value
    cli_errors.check_argv(command, ["credits", "Ça va ?"])  # UTF-8 is fine
