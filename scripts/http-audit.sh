#!/usr/bin/env bash
# Audits the GraphQL-over-HTTP conformance of the service with graphql-http's
# serverAudits: builds and starts the service on a free port over a fresh
# SQLite database, runs the audit with Node.js, stops the service. Exits
# non-zero on any MUST failure. Needs Node.js 18+ and npm (the audit's two
# pinned packages are installed from package-lock.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

(cd scripts/http-audit && npm ci --no-audit --no-fund --silent)
# The binary the test suite builds: `cargo build` alone would unify other
# features and compile the whole dependency tree a second time.
cargo test --workspace --quiet --no-run

workdir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DATABASE_URL="sqlite://$workdir/audit.db?mode=rwc" SEARCH_INDEX="$workdir/search-index" BIND="127.0.0.1:$port" RUST_LOG=warn \
    "${CARGO_TARGET_DIR:-target}/debug/scholargraph" serve >"$workdir/server.log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$workdir"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then cat "$workdir/server.log"; exit 1; fi
    sleep 0.2
done

node scripts/http-audit/audit.mjs "http://127.0.0.1:$port/graphql"
