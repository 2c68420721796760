#!/usr/bin/env bash
# Creates a SoftHSM2 token for a production-like node, with PINs in files
# that the service reads (--hsm-pin-file). The server can also create its
# token itself on first start when given --hsm-so-pin-file.
set -euo pipefail
dir=${1:-/var/lib/wysiwys}
secrets=${2:-/etc/wysiwys}
install -d -m 0700 "$dir/softhsm-tokens" "$secrets"
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/softhsm-tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
umask 077
[ -f "$secrets/hsm-user.pin" ] || head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$secrets/hsm-user.pin"
[ -f "$secrets/hsm-so.pin" ] || head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$secrets/hsm-so.pin"
SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label wysiwys \
    --so-pin "$(cat "$secrets/hsm-so.pin")" --pin "$(cat "$secrets/hsm-user.pin")"
echo "token ready; run the server with SOFTHSM2_CONF=$dir/softhsm2.conf --hsm-pin-file $secrets/hsm-user.pin"
