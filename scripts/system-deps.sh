#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing (and we may: root with apt-get):
# the OpenSSL GOST engine (independent signature checks), DejaVu fonts (PDF documents: agreements, notices),
# and Chromium for the dashboard browser test.
# PostgreSQL is handled by scripts/with-postgres.sh. Without root, say what is missing and go on.
# `system-deps.sh run` asks only for the GOST engine and the fonts (make run: the fast crypto backend; without it gisgw
# falls back to pure Python, which works but signs in about half a second).
set -uo pipefail
need=()
ls /usr/lib/*/engines-3/gost.so >/dev/null 2>&1 || need+=(libengine-gost-openssl)
# DejaVu Sans: the Cyrillic font of generated PDF documents (repayment agreements, notices, court packages; the
# court calculation's tables use DejaVu Sans Mono from the same package).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "${1:-test}" != run ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || echo "system-deps: could not install ${need[*]}; the tests that need them will be skipped" >&2
else
  echo "system-deps: missing ${need[*]} (sudo apt-get install ${need[*]}); tests needing them are skipped" >&2
fi
