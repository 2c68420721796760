#!/usr/bin/env bash
# Installs what wysiwys needs at run and test time, only where it is missing:
# SoftHSM2 (the default HSM), OpenSC (pkcs11-tool, for inspecting tokens),
# OpenSSL (verifies our CAdES output in the tests) and, with --test, PyJWT
# (an independent JOSE implementation that checks our SAD test vectors),
# pdfsig and pyHanko (independent PAdES validators), tmux, and Chromium with
# chromedriver for the browser tests.
set -euo pipefail

need_apt=()
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need_apt+=(softhsm2)
command -v pkcs11-tool >/dev/null || need_apt+=(opensc)
command -v openssl >/dev/null || need_apt+=(openssl)
if [ "${1:-}" = "--test" ]; then
    command -v pg_isready >/dev/null || need_apt+=(postgresql-client)
    # The web channel is tested in a real headless Chromium.
    [ -x /usr/bin/chromium ] || need_apt+=(chromium)
    [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
    # The confirmation app's full screen is tested in a real terminal.
    command -v tmux >/dev/null || need_apt+=(tmux)
    # Signed PDFs are checked by poppler's pdfsig against an NSS database
    # that trusts our CA (certutil).
    command -v pdfsig >/dev/null || need_apt+=(poppler-utils)
    command -v certutil >/dev/null || need_apt+=(libnss3-tools)
    # PDFs of another producer (object and cross-reference streams) are
    # made with qpdf.
    command -v qpdf >/dev/null || need_apt+=(qpdf)
    # A visible signature is read back from the rendered page by OCR.
    command -v tesseract >/dev/null || need_apt+=(tesseract-ocr)
    [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
    python3 -c 'import jwt, cryptography' 2>/dev/null || python3 -m pip install -q pyjwt cryptography
    # pyHanko: an independent PAdES validator for the signed PDFs.
    python3 -c 'import pyhanko.sign.validation' 2>/dev/null || python3 -m pip install -q pyhanko
fi
