#!/bin/sh
# Debian packages the test suite needs beyond Node, installed only when missing (one apt-get update at most):
# - chromium for the dashboard browser test (driven by playwright-core with executablePath /usr/bin/chromium);
# - kcat, librdkafka's command-line client, for the tests that consume batches librdkafka compressed.
set -eu
need_install=""
[ -x /usr/bin/chromium ] || need_install="$need_install chromium"
command -v kcat >/dev/null 2>&1 || need_install="$need_install kcat"
if [ -n "$need_install" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[setup-debian] installing:$need_install" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need_install
fi
