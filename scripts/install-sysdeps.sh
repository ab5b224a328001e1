#!/usr/bin/env bash
# Installs the Debian libraries that Qt (xcb and offscreen platforms), Xvfb screenshots
# and PDF rendering in tests need, but only those that are missing.
set -euo pipefail
PKGS=(
  libegl1 libgl1 libopengl0 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6
  libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxrender1 libxi6 libsm6 libice6
  libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0
  fonts-dejavu-core xvfb xauth poppler-utils
  x11-apps netpbm  # xwd and pnmtopng: the installer test's screenshot of the frozen app
  orthanc dcmtk    # real DICOM peers for the networking tests: a PACS, and a modality/validator
  zstd             # packs the full (CUDA) installer (make installer-full)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Run as root or install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
