"""Where the .tcss files are: inside the installed package (wheel), else the repository."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def styles_dir() -> Path:
    shipped = _PACKAGE / "styles"
    if shipped.is_dir():
        return shipped
    repo = _PACKAGE.parent.parent / "styles"  # src/bannertui -> repository root
    if repo.is_dir():
        return repo
    raise FileNotFoundError("bannertui styles not found: reinstall the package")


def stylesheet(name: str) -> Path:
    return styles_dir() / name
