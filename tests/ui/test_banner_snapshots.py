"""Snapshots of the Banner at 80x24 and 100x30 (fixed demo data, fixed clock, UTC)."""

from __future__ import annotations

from bannertui.testing import demo_app, settle


def test_banner_80x24(snap_compare, tmp_path) -> None:
    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=(80, 24), run_before=settle)


def test_banner_100x30(snap_compare, tmp_path) -> None:
    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=(100, 30), run_before=settle)
