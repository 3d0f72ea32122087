#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgres.sh cargo test --workspace
#   scripts/with-postgres.sh bash -c 'psql "$DATABASE_URL" -c "select version()"'
#
# A fresh cluster is initialised in a new temporary directory, started on a
# free loopback TCP port, and the command runs with
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:<port>/postgres
#
# (plus PGHOST/PGPORT/PGUSER/PGDATABASE for psql and friends, and PG_BIN,
# PG_DATA_DIR and the function as_pg to run pg_ctl on it) exported. When
# the command ends -- successfully, with an error, or on SIGINT/SIGTERM/SIGHUP --
# the server is stopped and the directory deleted. The command's exit code is
# the script's exit code.
#
# Environment knobs (all optional):
#   PG_BIN             directory holding initdb/pg_ctl/postgres (default: found
#                      on PATH, else /usr/lib/postgresql/15/bin, else the newest
#                      /usr/lib/postgresql/*/bin)
#   PG_KEEP_LOG        keep the server log. If the value contains a '/', the log
#                      is copied to that path; otherwise it is copied next to the
#                      temp dir as /tmp/with-postgres.<pid>.log. The path is
#                      printed on stderr.
#   PG_START_TIMEOUT   seconds to wait for the server to accept connections
#                      (default 60)
#   WITH_POSTGRES_TMPDIR  parent of the temp dir (default /tmp; it must be
#                      traversable by the postgres user)
#
# Runs as root (initdb/pg_ctl are run as the `postgres` system user, created if
# missing) or as an ordinary user (run directly).
set -euo pipefail

# Never let a closed stderr (e.g. `... 2>&1 | head`) abort the script before cleanup.
log() { printf 'with-postgres: %s\n' "$*" >&2 2>/dev/null || true; }
die() { log "error: $*"; exit 1; }

if [[ $# -eq 0 ]]; then
    die "usage: $0 COMMAND [ARGS...]"
fi

# --- locate the server binaries ---------------------------------------------
find_pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        printf '%s\n' "$PG_BIN"
        return
    fi
    local p
    if p="$(command -v initdb 2>/dev/null)" && [[ -n "$p" ]]; then
        # Resolve symlinks (e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb)
        # so that postgres/pg_ctl are taken from the same installation.
        p="$(readlink -f "$p")"
        printf '%s\n' "$(dirname "$p")"
        return
    fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return
    fi
    local d best
    # The glob sorts lexically; prefer the highest numeric version.
    best="$(for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && printf '%s\n' "$d"; done \
        | sort -t/ -k5,5n | tail -n1 || true)"
    printf '%s\n' "$best"
}

PG_BIN="$(find_pg_bin)"
[[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] \
    || die "PostgreSQL server binaries not found (initdb not on PATH nor in /usr/lib/postgresql/*/bin); install the 'postgresql' package or set PG_BIN"
for b in initdb pg_ctl postgres; do
    [[ -x "$PG_BIN/$b" ]] || die "$PG_BIN/$b not found or not executable"
done

PG_ISREADY=""
if [[ -x "$PG_BIN/pg_isready" ]]; then
    PG_ISREADY="$PG_BIN/pg_isready"
elif command -v pg_isready >/dev/null 2>&1; then
    PG_ISREADY="$(command -v pg_isready)"
fi

# --- who runs the server ------------------------------------------------------
if [[ $EUID -eq 0 ]]; then
    PG_USER=postgres
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
        log "creating system user $PG_USER"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /bin/sh "$PG_USER" \
            || die "could not create the $PG_USER system user"
    fi
    if command -v runuser >/dev/null 2>&1; then
        as_pg() { runuser -u "$PG_USER" -- "$@"; }
    else
        as_pg() {
            local q
            q="$(printf '%q ' "$@")"
            su -s /bin/sh "$PG_USER" -c "$q"
        }
    fi
else
    PG_USER="$(id -un)"
    as_pg() { "$@"; }
fi

# --- temp dir and cleanup ------------------------------------------------------
PGROOT=""
PGDATA_DIR=""
PGLOG=""
STARTED=0

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM HUP
    trap '' PIPE
    if [[ -n "$PGROOT" && -d "$PGROOT" ]]; then
        if [[ $STARTED -eq 1 || -f "$PGDATA_DIR/postmaster.pid" ]]; then
            log "stopping PostgreSQL"
            if ! (cd "$PGROOT" && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w -t 30 stop) >/dev/null 2>&1; then
                # Last resort: kill the postmaster directly.
                local pid
                pid="$(head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)"
                if [[ "$pid" =~ ^[0-9]+$ ]]; then
                    log "pg_ctl stop failed; killing postmaster $pid"
                    kill -QUIT "$pid" 2>/dev/null
                    for _ in $(seq 1 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                    done
                    kill -KILL "$pid" 2>/dev/null
                fi
            fi
        fi
        if [[ -n "${PG_KEEP_LOG:-}" && -f "$PGLOG" ]]; then
            local dest
            if [[ "$PG_KEEP_LOG" == */* ]]; then
                dest="$PG_KEEP_LOG"
            else
                dest="$(dirname "$PGROOT")/with-postgres.$$.log"
            fi
            if cp "$PGLOG" "$dest"; then
                log "server log kept at $dest"
            else
                log "could not copy the server log to $dest"
            fi
        fi
        rm -rf -- "$PGROOT"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

PGROOT="$(mktemp -d -p "${WITH_POSTGRES_TMPDIR:-/tmp}" with-postgres.XXXXXX)"
PGDATA_DIR="$PGROOT/data"
PGSOCK="$PGROOT/sock"
PGLOG="$PGROOT/server.log"
mkdir -p "$PGSOCK"
if [[ $EUID -eq 0 ]]; then
    chown -R "$PG_USER": "$PGROOT"
fi
chmod 700 "$PGROOT"

print_log() {
    if [[ -s "$PGLOG" ]]; then
        log "----- server log ($PGLOG) -----"
        sed 's/^/with-postgres:   /' "$PGLOG" >&2 || true
        log "----- end of server log -----"
    fi
}

# --- initdb ---------------------------------------------------------------------
log "initialising cluster in $PGDATA_DIR ($("$PG_BIN/postgres" --version))"
initdb_out="$PGROOT/initdb.out"
initdb_ok=0
# The default collation is ICU's en-US, as on a real server, not C: text
# orders that depend on the database's collation then show up in tests (the
# service sorts by keys that compare alike on both databases, see
# src/domain/names.rs). ICU needs no OS locales, which this machine lacks.
for locale in C C.UTF-8; do
    if (cd "$PGROOT" && as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" --auth=trust --username=postgres \
            --encoding=UTF8 --locale="$locale" --locale-provider=icu --icu-locale=en-US --no-sync) \
            >"$initdb_out" 2>&1; then
        initdb_ok=1
        break
    fi
    rm -rf -- "$PGDATA_DIR"
done
if [[ $initdb_ok -ne 1 ]]; then
    log "initdb failed:"
    sed 's/^/with-postgres:   /' "$initdb_out" >&2
    exit 1
fi

# Settings for a disposable test server: fast, not durable.
cat >>"$PGDATA_DIR/postgresql.conf" <<EOF

# --- added by scripts/with-postgres.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGSOCK'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
# The data sits in memory or on SSD: a random page costs about a sequential one.
random_page_cost = 1.1
EOF

# --- pick a port and start ------------------------------------------------------
pick_port() {
    local py
    for py in python3 python; do
        if command -v "$py" >/dev/null 2>&1; then
            if "$py" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null; then
                return 0
            fi
        fi
    done
    # Fallback: random high port that nothing is listening on.
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        if command -v ss >/dev/null 2>&1; then
            if [[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]; then
                printf '%s\n' "$p"
                return 0
            fi
        elif ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

timeout_s="${PG_START_TIMEOUT:-60}"
PORT=""
for attempt in 1 2 3 4 5; do
    PORT="$(pick_port)" || die "could not find a free TCP port"
    log "starting PostgreSQL on 127.0.0.1:$PORT (attempt $attempt)"
    : >"$PGLOG"
    [[ $EUID -eq 0 ]] && chown "$PG_USER": "$PGLOG"
    if (cd "$PGROOT" && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -o "-p $PORT" \
            -w -t "$timeout_s" start) >/dev/null 2>&1; then
        STARTED=1
        break
    fi
    # Stop a half-started server, if any.
    if [[ -f "$PGDATA_DIR/postmaster.pid" ]]; then
        (cd "$PGROOT" && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop) >/dev/null 2>&1 || true
    fi
    if grep -qiE 'could not bind|address already in use|could not create any TCP/IP sockets' "$PGLOG" 2>/dev/null; then
        log "port $PORT was taken; retrying with another port"
        continue
    fi
    log "PostgreSQL did not start within ${timeout_s}s"
    print_log
    exit 1
done
if [[ $STARTED -ne 1 ]]; then
    log "PostgreSQL did not start: no usable port after $attempt attempts"
    print_log
    exit 1
fi

# pg_ctl -w already waited; double-check over TCP, which is what clients use.
ready=0
deadline=$((SECONDS + timeout_s))
while ((SECONDS < deadline)); do
    if [[ -n "$PG_ISREADY" ]]; then
        if "$PG_ISREADY" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -t 2; then
            ready=1
            break
        fi
    elif command -v psql >/dev/null 2>&1; then
        if psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
            ready=1
            break
        fi
    elif (cd "$PGROOT" && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status) >/dev/null 2>&1 \
        && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
if [[ $ready -ne 1 ]]; then
    log "timed out after ${timeout_s}s waiting for PostgreSQL on 127.0.0.1:$PORT"
    print_log
    exit 1
fi

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
# For a command that restarts the server (the live events' reconnection test):
#   as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA_DIR" -m fast -w restart
export PG_BIN PG_USER PG_DATA_DIR="$PGDATA_DIR"
export -f as_pg
log "ready: DATABASE_URL=$DATABASE_URL"

# --- run the command --------------------------------------------------------------
# Run in the foreground (so it keeps the terminal and stdin); the EXIT trap
# stops the server and removes the directory afterwards.
rc=0
"$@" || rc=$?
if [[ $rc -ne 0 ]]; then
    log "command exited with status $rc"
fi
exit "$rc"
