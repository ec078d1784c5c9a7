#!/usr/bin/env bash
# Chromium for the real-browser test of `bannertui serve` (tests/cli/test_cli_serve.py).
#   bash scripts/chromium.sh    installs the Debian package when no chromium is on PATH
# Never fails the run: without Chromium that one test is skipped, and pytest's summary says so.
set -uo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
skip() { echo "scripts/chromium.sh: $1: the browser test will be SKIPPED" >&2; exit 0; }
command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install Chromium with"
if [ "$(id -u)" = "0" ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  skip "not root, and no password-less sudo"
fi
echo "installing Chromium (Debian package) for the browser test..." >&2
{ "${as_root[@]}" apt-get update -qq &&
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
} >&2 || skip "apt-get could not install chromium"
exit 0
