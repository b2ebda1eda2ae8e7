#!/usr/bin/env bash
# Set up movekit on a fresh Debian/Ubuntu machine: system packages, a virtualenv in .venv, the package.
#   scripts/setup.sh          runtime: espeak-ng (spoken cues), libportaudio2 (sound device playback),
#                             dbus-daemon (private bus for simulated BLE devices)
#   scripts/setup.sh --test   also the test extras and chromium (headless checks of the HTML reports)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="."
apt_pkgs=(espeak-ng dbus-daemon libportaudio2)
if [ "${1:-}" = "--test" ]; then
  extras=".[test]"
  apt_pkgs+=(chromium)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: no apt-get; install these yourself for spoken cues and tests: ${missing[*]}" >&2
  fi
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "setup: movekit needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e "$extras"
echo "setup: ready (.venv/bin/movekit)"
