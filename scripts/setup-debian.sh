#!/bin/sh
# Debian packages the test suite needs beyond Node: Chromium for the dashboard browser test
# (driven by playwright-core with executablePath /usr/bin/chromium). Idempotent: installs only what is missing.
set -eu
need_install=""
[ -x /usr/bin/chromium ] || need_install="$need_install chromium"
if [ -n "$need_install" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[setup-debian] installing:$need_install" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need_install
fi
