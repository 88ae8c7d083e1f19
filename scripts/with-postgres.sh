#!/usr/bin/env bash
# Run a command with GISGW_TEST_DATABASE_URL pointing at a PostgreSQL server.
# Uses GISGW_TEST_DATABASE_URL when already set; otherwise starts a private throwaway cluster (initdb in a
# temporary directory, a free port, the server running as the `postgres` user when we are root) and stops it
# afterwards, even when the command fails. GISGW_PG_OPTIONS adds server settings to that cluster (the accounts
# benchmark sizes the buffer cache with it: GISGW_PG_OPTIONS="-c shared_buffers=2GB").
set -euo pipefail

if [ -n "${GISGW_TEST_DATABASE_URL:-}" ]; then
  echo "with-postgres: using GISGW_TEST_DATABASE_URL from the environment"
  exec "$@"
fi

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

BINDIR=$(find_bindir || true)
if [ -z "$BINDIR" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "with-postgres: installing the postgresql Debian package"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    BINDIR=$(find_bindir)
  else
    echo "with-postgres: PostgreSQL server binaries (initdb, pg_ctl) not found." >&2
    echo "Install them (Debian: sudo apt-get install postgresql) or set GISGW_TEST_DATABASE_URL." >&2
    exit 3
  fi
fi

PGTMP=$(mktemp -d -t gisgw-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
RUNAS=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres system user.
  id postgres >/dev/null 2>&1 || useradd --system --home "$PGTMP" postgres
  chown postgres "$PGTMP"
  RUNAS=(runuser -u postgres --)
fi
chmod 700 "$PGTMP"

cleanup() {
  "${RUNAS[@]}" "$BINDIR/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
trap cleanup EXIT INT TERM

"${RUNAS[@]}" "$BINDIR/initdb" -D "$PGTMP/data" -U gisgw --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
OPTS="-p $PORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ${GISGW_PG_OPTIONS:-}"
"${RUNAS[@]}" "$BINDIR/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 -o "$OPTS" start >/dev/null
# `pgctl.sh stop|start`: the chaos tests (tests/chaos) take this cluster away and bring it back.
cat > "$PGTMP/pgctl.sh" <<PGCTL
#!/usr/bin/env bash
set -euo pipefail
case "\$1" in
  stop) ${RUNAS[*]} "$BINDIR/pg_ctl" -D "$PGTMP/data" -m fast -w -t 60 stop ;;
  start) ${RUNAS[*]} "$BINDIR/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 -o "$OPTS" start ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
PGCTL
chmod 755 "$PGTMP/pgctl.sh"
export GISGW_TEST_PG_CTL="$PGTMP/pgctl.sh"
"${RUNAS[@]}" "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U gisgw gisgw_test
echo "with-postgres: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
export GISGW_TEST_DATABASE_URL="postgresql+asyncpg://gisgw@127.0.0.1:$PORT/gisgw_test"
set +e
"$@"
rc=$?
set -e
exit $rc
