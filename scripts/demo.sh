#!/usr/bin/env bash
# Starts the wysiwys demo on http://127.0.0.1:8080 with SQLite and a SoftHSM2
# token in ./demo-data. On first start it creates the user "demo" and prints
# its password, TOTP secret, otpauth:// URI and a QR code.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked -p wysiwys-server -p wysiwys-confirm
exec ./target/release/wysiwys-server demo --data-dir ./demo-data --listen 127.0.0.1:8080 "$@"
