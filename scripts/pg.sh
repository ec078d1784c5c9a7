#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the test suite.
#   eval "$(bash scripts/pg.sh up)"   installs the Debian server if missing, starts one,
#                                      and prints `export BANNERTUI_TEST_PG_URL=...`
#   bash scripts/pg.sh down            stops it and removes its data directory
#   bash scripts/pg.sh restart         restarts it (the load harness's database fault)
# Only loopback is listened on; authentication is "trust" for loopback only.
set -euo pipefail
# BANNERTUI_PG_STATE names another state file: a second, private server (the load harness's
# short run restarts its server, so it uses one of its own).
state_file="${BANNERTUI_PG_STATE:-${TMPDIR:-/tmp}/bannertui-test-pg.$(id -u).env}"

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

as_pg() {  # PostgreSQL refuses to run as root: use the postgres account when we are root
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

up() {
  local bin
  if ! bin=$(find_bin); then
    echo "installing the Debian PostgreSQL server..." >&2
    if [ "$(id -u)" = "0" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    else
      (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    fi
    bin=$(find_bin) || { echo "PostgreSQL server could not be installed" >&2; exit 1; }
  fi
  if [ -f "$state_file" ]; then
    # shellcheck disable=SC1090
    . "$state_file"
    if as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
      echo "export BANNERTUI_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:$PG_PORT/postgres"
      echo "export BANNERTUI_PG_STARTED=0"
      echo "PostgreSQL test server already running on 127.0.0.1:$PG_PORT" >&2
      return 0
    fi
    down >/dev/null 2>&1 || true
  fi
  local dir port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/bannertui-pg.XXXXXX")
  chmod 755 "$dir"
  [ "$(id -u)" = "0" ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=600" \
    start >/dev/null
  printf 'PG_BIN=%q\nPG_DIR=%q\nPG_PORT=%q\n' "$bin" "$dir" "$port" >"$state_file"
  echo "export BANNERTUI_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
  echo "export BANNERTUI_PG_STARTED=1"
  echo "PostgreSQL test server on 127.0.0.1:$port ($("$bin/postgres" --version))" >&2
}

down() {
  [ -f "$state_file" ] || return 0
  # shellcheck disable=SC1090
  . "$state_file"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR" "$state_file"
}

restart() {  # the load harness's fault: a fast restart of the running server
  [ -f "$state_file" ] || { echo "no PostgreSQL test server is running" >&2; exit 1; }
  # shellcheck disable=SC1090
  . "$state_file"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 -l "$PG_DIR/log" restart >/dev/null
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  restart) restart ;;
  *) echo "usage: $0 up|down|restart" >&2; exit 2 ;;
esac
