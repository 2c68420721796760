#!/usr/bin/env bash
# Starts the wysiwys demo on http://127.0.0.1:8080 with SQLite and a SoftHSM2
# token in ./demo-data. On first start it creates the user "demo" and prints
# its password, TOTP secret, otpauth:// URI and a QR code.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked -p wysiwys-server -p wysiwys-confirm
# Open sign-up: a new account pairs its first device in the 10 minutes after
# TOTP enrolment; "demo" uses the activation code printed with its password.
exec ./target/release/wysiwys-server demo --data-dir ./demo-data --listen 127.0.0.1:8080 --first-device enrolment-window "$@"
