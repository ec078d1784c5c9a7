"""``python -m bannertui``: the same as the ``bannertui`` command."""

from bannertui.cli import main

main()
