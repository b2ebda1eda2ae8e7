#!/usr/bin/env bash
# Set up movekit on a fresh Debian/Ubuntu machine: system packages, a virtualenv in .venv, the package.
#   scripts/setup.sh          runtime (with movekit studio's web server): espeak-ng (spoken cues), libportaudio2 (sound device playback),
#                             dbus-daemon (private bus for simulated BLE devices)
#   scripts/setup.sh --test   also the test and studio extras and chromium (headless checks of the HTML
#                             reports, browser tests of movekit studio through Playwright)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=".[studio]"
apt_pkgs=(espeak-ng dbus-daemon libportaudio2)
if [ "${1:-}" = "--test" ]; then
  extras=".[test,studio]"
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

# Python 3.11 or 3.12: mediapipe 0.10.14 has no wheel for 3.13 (pyproject.toml requires-python).
supported() { "$1" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null; }
if [ -x .venv/bin/python ]; then
  supported .venv/bin/python || { echo "setup: .venv has $(.venv/bin/python --version 2>&1); movekit needs" \
    "Python 3.11 or 3.12 (mediapipe 0.10.14 has no newer wheel): remove .venv and run again" >&2; exit 1; }
else
  PY="${PYTHON:-}"
  if [ -z "$PY" ]; then
    for c in python3 python3.12 python3.11; do
      command -v "$c" >/dev/null 2>&1 && supported "$c" && { PY="$c"; break; }
    done
  fi
  [ -n "$PY" ] && supported "$PY" || { echo "setup: movekit needs Python 3.11 or 3.12 (mediapipe 0.10.14 has no" \
    "wheel for newer); found ${PY:-none among python3, python3.12, python3.11}; set PYTHON=/path/to/python3.12" >&2; exit 1; }
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e "$extras"
echo "setup: ready (.venv/bin/movekit)"
