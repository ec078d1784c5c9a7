"""docs/keys.md, the help screen and the palette come from the bindings (issue #23): they
cannot drift from them, and the bindings follow the key model the page describes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

import bannertui.ui
from bannertui.ui import keymap
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.help import help_content

KEYS_MD = Path(__file__).resolve().parents[2] / "docs" / "keys.md"
#: Textual's classes the tables take a few bindings of (they have no ids).
TEXTUAL = {"Screen", "DataTable"}


def described_classes() -> dict[str, type[DOMNode]]:
    return {name: cls for name, cls in keymap.owners().items() if name not in TEXTUAL}


def rows() -> list[keymap.Row]:
    return [row for table in keymap.tables() for row in table.rows]


def test_docs_keys_md_is_what_the_bindings_make() -> None:
    document = KEYS_MD.read_text(encoding="utf-8")
    assert keymap.generated_part(document) == keymap.markdown(), (
        "docs/keys.md differs from the bindings: python -m bannertui.ui.keymap --write docs/keys.md"
    )
    assert keymap.main(["--check", str(KEYS_MD)]) == 0


def test_a_changed_binding_makes_docs_keys_md_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check sees a key changed in the code (here the Banner's Refresh moved to F12)."""
    bindings = [
        Binding("f12", b.action, b.description, id=b.id) if b.id == "banner.refresh" else b
        for b in BannerScreen.BINDINGS
        if isinstance(b, Binding)
    ]
    monkeypatch.setattr(BannerScreen, "BINDINGS", bindings)
    document = KEYS_MD.read_text(encoding="utf-8")
    assert keymap.generated_part(document) != keymap.markdown()
    assert "| `F12` | Reload from the database now |" in keymap.markdown()


def test_every_binding_has_an_id_and_a_line_in_the_tables() -> None:
    shown = {(row.owner, id(b)) for row in rows() for b in row.bindings}
    for name, cls in described_classes().items():
        for binding in keymap.own_bindings(cls):
            assert binding.id, f"{name}: the binding of {binding.key!r} has no id"
            assert (cls, id(binding)) in shown, f"{binding.id} is in no table of the keymap"


def test_every_class_with_bindings_is_described() -> None:
    """A new screen, dialog or widget with BINDINGS of its own is in the tables."""
    described = set(described_classes().values())
    package = bannertui.ui
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, DOMNode):
                continue
            if any(isinstance(b, Binding) for b in cls.__dict__.get("BINDINGS", ())):
                assert cls in described, f"{cls.__qualname__} has bindings and no table"


def test_the_keymap_names_only_bindings_that_exist() -> None:
    ids = {i for row in rows() for i in row.ids}
    assert set(keymap.COMMANDS) - ids == set()


def test_every_key_has_its_help_line_and_palette_decision() -> None:
    """A new binding gets an entry in keymap.COMMANDS (its help line, and a palette title or
    none on purpose): it is not left out of the palette by default."""
    for row in rows():
        assert any(i in keymap.COMMANDS for i in row.ids), f"{row.id} has no keymap entry"


def test_palette_titles_are_unique_where_they_can_meet() -> None:
    """The app's commands are offered with any screen's: no screen's title repeats one."""
    app_titles = {row.command.title for row in rows() if row.owner.__name__ == "BannerApp"} - {None}
    for row in rows():
        if row.owner.__name__ != "BannerApp":
            assert row.command.title not in app_titles, row.id


def test_no_priority_binding_is_on_a_printable_key() -> None:
    """Printable keys are text while a field has focus: a priority binding would take them
    from the field.  The app's other keys are priority bindings: they win everywhere."""
    for name, cls in described_classes().items():
        for binding in keymap.own_bindings(cls):
            for key in keymap.binding_keys(binding):
                printable = keymap.is_printable(key)
                if binding.priority:
                    assert not printable, f"{binding.id}: {key!r} is printable"
                elif name == "BannerApp":
                    assert printable, f"{binding.id}: {key!r} should win everywhere (priority)"


def test_the_help_shows_every_row() -> None:
    text = help_content().plain
    for row in rows():
        assert row.keys in text, row.id
        assert row.text in text, row.id
    assert "[" in text
    assert "Load older messages" in text
