#!/usr/bin/env bash
# System packages the test suite needs, installed when missing:
#   softhsm2      a real PKCS#11 token (tests/hsm.py)
#   chromium      a real browser for the self-decrypting HTML attachment
#   qpdf, poppler-utils   independent checks of the password-protected PDF export
#   age           the reference age tool, for age-file interop (tests/test_age_interop.py)
#   nodejs, npm   run the TypeScript age (npm age-encryption) in the same tests, and
#                 Azurite, the Azure Blob emulator (tests/azurite.py installs it with npm)
#   postgresql    a real PostgreSQL server for the KeyStore tests (tests/pg.py)
# Says clearly what to run when this user cannot install them.
set -euo pipefail
missing=()
{ command -v softhsm2-util >/dev/null 2>&1 && [ -e /usr/lib/softhsm/libsofthsm2.so ]; } || missing+=(softhsm2)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v age >/dev/null 2>&1 || missing+=(age)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "sealdoc's tests need these system packages and this user cannot install them:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]} (the tests use the real components, never stand-ins)"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (unattended-upgrades, a second CI job) may hold the dpkg lock:
# wait for it, up to 10 minutes, instead of failing at once with exit 100.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
