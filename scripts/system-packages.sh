#!/usr/bin/env bash
# System packages the test suite needs: SoftHSM2 (a real PKCS#11 token).
# Installs them when missing; says clearly when it cannot.
set -euo pipefail
if command -v softhsm2-util >/dev/null 2>&1 && [ -e /usr/lib/softhsm/libsofthsm2.so ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "sealdoc tests need SoftHSM2 and this user cannot install it:" >&2
    echo "    sudo apt-get install -y softhsm2" >&2
    exit 1
fi
echo "installing softhsm2 (the PKCS#11 tests run against a real SoftHSM2 token)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq softhsm2 >/dev/null
