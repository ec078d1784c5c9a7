"""The built wheel is complete: installed (not editable) in a fresh venv, it runs on its own.

Builds with ``uv build --wheel`` (offline when the build backend is cached, else online),
installs the wheel into a new venv with the dependency versions of ``uv.lock``, and runs
the console script from a directory outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")

SHIPPED = [
    "bannertui/cli/__init__.py",
    "bannertui/styles/app.tcss",
    "bannertui/styles/banner.tcss",
    "bannertui/store/demo.toml",
    "bannertui/store/migrations/env.py",
    "bannertui/store/migrations/script.py.mako",
    "bannertui/store/migrations/versions/0001_initial_schema.py",
]


def _env(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANNERTUI_", "VIRTUAL_ENV", "PYTHON", "UV_PROJECT"))
    }
    env.update(
        BANNERTUI_DATA_DIR=str(root / "data"),
        BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
    )
    return env


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, (
        f"{proc.args}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    return proc.stdout


def _uv_offline_first(args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """``uv ARGS --offline`` when the cache suffices, else the same online."""
    proc = _run([str(UV), *args, "--offline"], cwd=cwd, env=env)
    if proc.returncode != 0:
        proc = _run([str(UV), *args], cwd=cwd, env=env)
    return _ok(proc)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(wheel, venv, env): the wheel built from the repository, installed in a fresh venv."""
    assert UV.is_file(), f"{UV} missing (uv is a dev dependency)"
    root = tmp_path_factory.mktemp("wheel")
    env = _env(root)

    out = root / "dist"
    _uv_offline_first(["build", "--wheel", "--out-dir", str(out)], cwd=REPO, env=env)
    wheels = sorted(out.glob("bannertui-*.whl"))
    assert len(wheels) == 1, wheels

    # Pin the dependencies to the lock file, so the test is about the wheel.
    constraints = root / "constraints.txt"
    lock = _ok(
        _run(
            [
                str(UV),
                "export",
                "--frozen",
                "--no-dev",
                "--no-emit-project",
                "--no-hashes",
                "--no-header",
            ],
            cwd=REPO,
            env=env,
        )
    )
    constraints.write_text(lock, encoding="utf-8")

    venv = root / "v"
    _ok(_run([str(UV), "venv", str(venv), "--python", sys.executable], cwd=root, env=env))
    _uv_offline_first(
        [
            "pip",
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "--constraint",
            str(constraints),
            str(wheels[0]),
        ],
        cwd=root,
        env=env,
    )
    return wheels[0], venv, env


def test_wheel_ships_styles_migrations_and_demo_data(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    wheel, _, _ = installed
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    missing = [name for name in SHIPPED if name not in names]
    assert not missing, sorted(names)
    assert not any(name.startswith(("src/", "tests/", "styles/")) for name in names)


def test_installed_is_not_editable(installed: tuple[Path, Path, dict[str, str]]) -> None:
    _, venv, env = installed
    out = _ok(
        _run(
            [str(venv / "bin" / "python"), "-c", "import bannertui; print(bannertui.__file__)"],
            cwd=venv.parent,
            env=env,
        )
    )
    module = Path(out.strip()).resolve()
    assert module.is_relative_to(venv.resolve()), module
    assert "site-packages" in module.parts


def test_installed_credits(installed: tuple[Path, Path, dict[str, str]]) -> None:
    _, venv, env = installed
    out = _ok(_run([str(venv / "bin" / "bannertui"), "credits", "hi"], cwd=venv.parent, env=env))
    assert json.loads(out) == {
        "characters": 2,
        "encoding": "GSM-7",
        "units": 2,
        "credits": 1,
        "unicode": False,
        "over_limit": False,
    }


def test_installed_styles_dir(installed: tuple[Path, Path, dict[str, str]]) -> None:
    _, venv, env = installed
    code = "from bannertui.ui.resources import styles_dir; print(styles_dir())"
    out = _ok(_run([str(venv / "bin" / "python"), "-c", code], cwd=venv.parent, env=env))
    styles = Path(out.strip()).resolve()
    assert styles.is_relative_to(venv.resolve()), styles
    assert "site-packages" in styles.parts
    assert not styles.is_relative_to(REPO)
    assert (styles / "app.tcss").is_file()
    assert (styles / "banner.tcss").is_file()


def test_installed_db_seed_demo(installed: tuple[Path, Path, dict[str, str]]) -> None:
    _, venv, env = installed
    path = venv.parent / "d.sqlite3"
    args = [
        str(venv / "bin" / "bannertui"),
        "db",
        "seed-demo",
        "--db",
        f"sqlite+aiosqlite:///{path}",
    ]
    proc = _run(args, cwd=venv.parent, env=env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "demo data loaded\n", "")
    assert path.is_file()


def test_installed_without_extras_names_the_missing_extra(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    """The wheel alone is the console; the receiver, the demo and serve are extras, and a
    command that needs one says which, and how to install it."""
    _, venv, env = installed
    for command, extra in (("webhook", "receiver"), ("demo", "demo"), ("serve", "serve")):
        proc = _run([str(venv / "bin" / "bannertui"), command], cwd=venv.parent, env=env)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert f"needs the '{extra}' extra" in proc.stderr, proc.stderr
        assert f"pip install 'bannertui[{extra}]'" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
