#!/usr/bin/env bash
# Build the offline installer: PyInstaller onedir folder + one archive in dist/.
#
#   scripts/build_installer.sh [cpu|full]        (make installer / installer-full)
#
# cpu  (default): built in its own environment, .venv-cpu, with the CPU-only torch wheel and
#      without torchvision (VGG8 models only). Created here when missing.
#      TORCH_CPU_SPEC (default torch==2.13.0) and TORCH_CPU_PIP_ARGS (e.g.
#      pip options pointing at PyTorch's CPU wheel index, on a machine whose index serves CUDA
#      wheels by default) choose the wheel.
# full: built from the development environment .venv as it is (CUDA torch + torchvision); ~5 GB.
#
# Output: dist/<variant>/ra-desktop/ (the onedir app) and dist/ra-desktop-<version>-<os>-<arch>-<variant>
#         .tar.xz (Linux, cpu), .tar.zst (Linux, full; RA_INSTALLER_COMPRESSION) or .zip (others).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VARIANT=${1:-cpu}
PYTHON=${PYTHON:-python3}

case "$VARIANT" in
  cpu)  VENV=${RA_CPU_VENV:-.venv-cpu} ;;
  full) VENV=${VENV:-.venv} ;;
  *) echo "usage: $0 [cpu|full]" >&2; exit 2 ;;
esac
PY=$VENV/bin/python
[ -x "$PY" ] || PY=$VENV/Scripts/python.exe  # Windows (Git Bash)

log() { printf '\n== %s\n' "$*"; }
t_start=$(date +%s)

if [ "$VARIANT" = cpu ]; then
  if [ ! -x "$PY" ]; then
    log "creating $VENV (CPU-only torch)"
    "$PYTHON" -m venv "$VENV"
    PY=$VENV/bin/python
    [ -x "$PY" ] || PY=$VENV/Scripts/python.exe
    # shellcheck disable=SC2086  # TORCH_CPU_PIP_ARGS is a list of pip options
    "$PY" -m pip install -q ${TORCH_CPU_PIP_ARGS:-} "${TORCH_CPU_SPEC:-torch==2.13.0}"
  fi
  # The project's dependencies minus torch/torchvision (CPU torch is already there; no
  # torchvision) and minus what only development needs (matplotlib: evaluate plots; captum: tests).
  STAMP=$VENV/.ra-installer-deps
  if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    log "installing the runtime dependencies into $VENV"
    mapfile -t DEPS < <("$PY" - <<'EOF'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
drop = {"torch", "torchvision", "matplotlib", "captum"}
for d in deps:
    if re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0].lower() not in drop:
        print(d)
EOF
)
    "$PY" -m pip install -q "${DEPS[@]}" "pyinstaller>=6.6"
    touch "$STAMP"
  fi
  "$PY" -m pip install -q --no-deps --no-build-isolation -e .  # metadata (version) of this checkout
  if "$PY" -c "import torchvision" 2>/dev/null; then
    echo "error: $VENV has torchvision; the CPU variant ships without it (pip uninstall torchvision)" >&2
    exit 1
  fi
else
  [ -x "$PY" ] || { echo "error: $VENV is missing: run 'make setup' first" >&2; exit 1; }
  "$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.6"
fi

VERSION=$("$PY" -c "from importlib.metadata import version; print(version('ra-desktop'))")
OS=$("$PY" -c "import sys; print({'linux': 'linux', 'win32': 'windows', 'darwin': 'macos'}.get(sys.platform, sys.platform))")
ARCH=$(uname -m)
DIST=dist/$VARIANT
NAME=ra-desktop-$VERSION-$OS-$ARCH-$VARIANT

log "PyInstaller ($VARIANT variant, RA Desktop $VERSION, $("$PY" -c 'import torch; print("torch", torch.__version__)'))"
t0=$(date +%s)
RA_INSTALLER_VARIANT=$VARIANT "$PY" -m PyInstaller installer/ra_desktop.spec --noconfirm \
  --distpath "$DIST" --workpath "build/installer-$VARIANT" --log-level "${PYI_LOG_LEVEL:-WARN}"
t1=$(date +%s)

# Many bundled libraries carry full symbol tables (libtorch_cpu alone ~90 MB, libpython 17 MB);
# only .dynsym is needed to load them. Strip everything except the auditwheel-vendored copies in
# *.libs/ (rewritten by patchelf; stripping those is known to corrupt them) - the self-test in
# `make installer-test` exercises torch, the decoders, Pillow, fontTools and Qt afterwards.
if [ "$OS" = linux ] && command -v strip > /dev/null; then
  find "$DIST/ra-desktop/_internal" -type f -name '*.so*' ! -path '*.libs/*' \
    -exec strip --strip-unneeded {} + 2> "build/installer-$VARIANT/strip.log" || true
fi

log "packing"
rm -f "dist/$NAME".tar.gz "dist/$NAME".tar.xz "dist/$NAME".tar.zst "dist/$NAME".zip
# RA_INSTALLER_COMPRESSION=xz|zstd; default xz for cpu, zstd for full.
COMPRESSION=${RA_INSTALLER_COMPRESSION:-$([ "$VARIANT" = full ] && echo zstd || echo xz)}
if [ "$OS" = linux ]; then
  # One top-level folder named after the release; unpacks with a plain `tar -xf`.
  #  xz -9 -T0: about a quarter smaller than gzip -9 on this mix of libraries (CPU variant with
  #    the DICOM node: 301 -> 228 MiB); slow (~1.5 MB/s per core here), fine for 760 MB.
  #  zstd -12 -T0: for the ~4 GB full variant, where xz -9 would pack for about half an hour on
  #    2 cores; on libnvrtc (105 MB) zstd -12 took 3.8 s for 37.9 MB, xz -9 90 s for 30.7 MB.
  #    --long=27 (128 MiB window) stays within what zstd and GNU tar unpack without options.
  case "$COMPRESSION" in
    xz)   EXT=tar.xz;  COMPRESS=(xz -9 -T0) ;;
    zstd) EXT=tar.zst; COMPRESS=(zstd -12 -T0 --long=27 -q)
          command -v zstd > /dev/null || { echo "error: zstd is missing (apt-get install zstd)" >&2; exit 1; } ;;
    *) echo "error: RA_INSTALLER_COMPRESSION must be xz or zstd, not $COMPRESSION" >&2; exit 2 ;;
  esac
  tar -C "$DIST" --transform "s,^ra-desktop,$NAME," -cf - ra-desktop | "${COMPRESS[@]}" > "dist/$NAME.$EXT"
  ARCHIVE=dist/$NAME.$EXT
else
  (cd "$DIST" && "$ROOT/$PY" -m zipfile -c "$ROOT/dist/$NAME.zip" ra-desktop)
  ARCHIVE=dist/$NAME.zip
fi
t2=$(date +%s)

ONEDIR_MB=$(du -sm "$DIST/ra-desktop" | cut -f1)
ARCHIVE_BYTES=$(stat -c %s "$ARCHIVE" 2>/dev/null || stat -f %z "$ARCHIVE")
ARCHIVE_MIB=$(( (ARCHIVE_BYTES + 1048575) / 1048576 ))
SUMMARY="variant=$VARIANT version=$VERSION onedir=${ONEDIR_MB}MB archive=${ARCHIVE_MIB}MiB ($ARCHIVE_BYTES bytes) pyinstaller=$((t1 - t0))s pack=$((t2 - t1))s total=$((t2 - t_start))s"
echo "$SUMMARY" | tee "dist/$NAME.build.txt"
echo "app:     $DIST/ra-desktop/ra-desktop"
echo "archive: $ARCHIVE"

# The CPU archive must stay small enough to hand out (issue: under 300 MiB).
if [ "$VARIANT" = cpu ] && [ "$ARCHIVE_MIB" -ge 300 ]; then
  echo "error: the CPU archive is $ARCHIVE_MIB MiB, over the 300 MiB limit" >&2
  exit 1
fi
