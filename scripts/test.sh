#!/usr/bin/env bash
# Runs every check and test of wysiwys, on SQLite and on PostgreSQL.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test

# PostgreSQL must really be there: the PostgreSQL tests fail, never skip.
export WYSIWYS_TEST_POSTGRES_URL="${WYSIWYS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is required for the tests" >&2; exit 1; }
fi

echo "== format" >&2
cargo fmt --all -- --check
echo "== clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build" >&2
cargo build --workspace --bins --locked
echo "== tests" >&2
cargo test --workspace --locked
echo "== SAD vectors against an independent JOSE library (PyJWT)" >&2
python3 tests/interop/verify_token_vectors.py
echo "== all checks passed" >&2
