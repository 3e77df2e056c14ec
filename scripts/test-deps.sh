#!/usr/bin/env bash
# Before `npm test`: the notebook tests need Jupyter (nbclient + ipykernel, from Debian) and the video tests need
# ffmpeg. Installs what is missing with apt-get when it can (root or sudo), else says exactly what to install.
set -euo pipefail
need=()
{ command -v jupyter >/dev/null 2>&1 && /usr/bin/python3 -c "import nbclient, nbformat, ipykernel" 2>/dev/null; } \
  || need+=(jupyter-nbconvert jupyter-client python3-ipykernel)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
[ ${#need[@]} -eq 0 ] && exit 0

echo "npm test: installing test dependencies from Debian: ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
fi
if [ "$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test needs: ${need[*]}. Install them (Debian/Ubuntu: sudo apt-get install --no-install-recommends ${need[*]}), then run npm test again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y --no-install-recommends "${need[@]}"
