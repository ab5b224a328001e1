#!/usr/bin/env bash
# Test the installer archive as a user would get it (`make installer-test`):
#   1. build it (scripts/build_installer.sh; skip with RA_INSTALLER_SKIP_BUILD=1),
#   2. unpack it into a fresh /tmp/ra-installer-test-XXXX,
#   3. run `ra-desktop --self-test` with an empty environment (env -i: no Python, no PYTHONPATH,
#      PATH=/usr/bin:/bin) and, where `unshare -n` works (root), with no network but loopback
#      (its `dicom` step sends to its own DICOM listener on 127.0.0.1),
#   4. run the frozen `inspect` on a JPEG 2000 DICOM (pydicom's decoder plugins in the bundle) and
#      the frozen `atlas` (the teaching handout),
#   5. start the GUI under Xvfb on the demo cases and save a screenshot,
#   6. check that nothing was written inside the install folder.
# Exit status 0 only if every check passed. Evidence (logs, PDF, screenshot) stays in the folder.
#
#   scripts/installer_test.sh [cpu|full]       (make installer-test / installer-test-full)
#   RA_INSTALLER_TEST_MODEL=DIR  test with --model DIR (only while no model is bundled)
#   GUI_WAIT=SECONDS             how long the GUI runs before the screenshot (default 40)
#   KEEP_APP=1                   keep the unpacked app (removed after a passing run: ~1 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VARIANT=${1:-cpu}
GUI_WAIT=${GUI_WAIT:-40}

fail() { echo "installer-test FAILED: $*" >&2; exit 1; }
log() { printf '\n== %s\n' "$*"; }

if [ "${RA_INSTALLER_SKIP_BUILD:-0}" != 1 ]; then
  scripts/build_installer.sh "$VARIANT"
fi
ARCHIVE=$(ls -t dist/ra-desktop-*-linux-*-"$VARIANT".tar.{xz,zst} 2>/dev/null | head -1 || true)
[ -n "$ARCHIVE" ] || fail "no dist/ra-desktop-*-linux-*-$VARIANT.tar.xz or .tar.zst: build it first (make installer)"

T=$(mktemp -d /tmp/ra-installer-test-XXXX)
mkdir -p "$T/app" "$T/home" "$T/ra-home" "$T/tmp" "$T/out"
log "unpacking $ARCHIVE into $T/app"
tar -C "$T/app" -xf "$ARCHIVE"  # as a user would: GNU tar picks xz or zstd by the suffix
APPDIR=$(find "$T/app" -mindepth 1 -maxdepth 1 -type d | head -1)
EXE=$APPDIR/ra-desktop
[ -x "$EXE" ] || fail "$EXE is missing from the archive"

listing() { (cd "$APPDIR" && find . -printf '%p\t%s\t%T@\t%m\n' | LC_ALL=C sort); }
listing > "$T/listing-before.txt"

# No network: a new network namespace has only a loopback interface, and it starts down. The
# self-test's `dicom` step runs a DICOM listener on 127.0.0.1 and talks to it (C-ECHO, C-STORE),
# so `lo` is brought up inside the namespace: loopback only, still nothing beyond this machine.
NET=()
IP=$(command -v ip || echo /usr/sbin/ip)  # iproute2; /usr/sbin is often not on a user's PATH
if unshare -n true 2>/dev/null; then
  if [ -x "$IP" ] && unshare -n "$IP" link set lo up 2>/dev/null; then
    # shellcheck disable=SC2016  # $@ is expanded by the inner sh
    NET=(unshare -n sh -c "$IP"' link set lo up && exec "$@"' ra-no-network)
    echo "network: none (unshare -n), loopback only (lo up)"
  else
    fail "unshare -n works but '$IP link set lo up' does not (apt-get install iproute2): the self-test's DICOM step needs loopback"
  fi
else
  echo "network: not isolated (unshare -n needs root); the run is still offline by design"
fi
# An empty environment: what a double-click gets, minus a desktop session. No Python on PATH
# matters less than no PYTHONHOME/PYTHONPATH/VIRTUAL_ENV leaking in: env -i drops them all.
ENV=(env -i HOME="$T/home" PATH=/usr/bin:/bin TMPDIR="$T/tmp" RA_DESKTOP_HOME="$T/ra-home" LANG=C.UTF-8)
MODEL_ARGS=()
[ -n "${RA_INSTALLER_TEST_MODEL:-}" ] && MODEL_ARGS=(--model "$RA_INSTALLER_TEST_MODEL")

log "version"
WANT=$(basename "$APPDIR" | sed -E 's/^ra-desktop-([^-]+)-.*/\1/')
GOT=$("${ENV[@]}" "$EXE" --version 2>&1 || true)
echo "$GOT"
[ "$GOT" = "ra-desktop $WANT" ] || fail "the frozen app says '$GOT', the archive is version $WANT"

log "self-test"
t0=$(date +%s)
set +e
"${NET[@]}" "${ENV[@]}" "$EXE" --self-test --keep "${MODEL_ARGS[@]}" 2>&1 | tee "$T/out/self-test.log"
rc=${PIPESTATUS[0]}
set -e
echo "self-test exit status $rc in $(( $(date +%s) - t0 )) s"
[ "$rc" = 0 ] || fail "the frozen self-test exited $rc (see $T/out/self-test.log)"
grep -q '^\[ok\] dicom ' "$T/out/self-test.log" \
  || fail "the frozen self-test has no 'dicom' step (SR/SC/PDF and the loopback DICOM node)"
if [ "$VARIANT" = full ]; then
  # The full variant exists for DenseNet models and CUDA: torchvision's compiled operators must load.
  grep -q '^\[ok\] densenet .*torchvision.ops.nms ok; DenseNet121' "$T/out/self-test.log" \
    || fail "the full variant's self-test did not run a DenseNet model (torchvision's operators)"
fi
KEPT=$(sed -n 's/^kept: //p' "$T/out/self-test.log")
cp "$KEPT"/*.pdf "$T/out/" && echo "report: $(ls "$T"/out/*.pdf)"

log "frozen inspect on a JPEG 2000 DICOM"
J2K=${RA_J2K_TEST_FILE:-$ROOT/.venv/lib/python3.11/site-packages/pydicom/data/test_files/MR_small_jp2klossless.dcm}
[ -f "$J2K" ] || fail "$J2K not found (set RA_J2K_TEST_FILE to a JPEG 2000 DICOM file)"
cp "$J2K" "$T/tmp/j2k.dcm"
set +e
"${NET[@]}" "${ENV[@]}" "$EXE" inspect --json "$T/tmp/j2k.dcm" > "$T/out/inspect-j2k.json" 2> "$T/out/inspect-j2k.err"
rc=$?
set -e
cat "$T/out/inspect-j2k.json" "$T/out/inspect-j2k.err"
[ "$rc" = 0 ] || fail "frozen inspect exited $rc on a JPEG 2000 file"
# The pixel range is computed from decoded pixels: present only if the decoder worked.
grep -q '"transfer_syntax": "1.2.840.10008.1.2.4.90"' "$T/out/inspect-j2k.json" \
  && grep -q '"max": [0-9]' "$T/out/inspect-j2k.json" \
  || fail "frozen inspect did not decode the JPEG 2000 pixels"

log "frozen atlas (the teaching handout: phantoms and fpdf2 in the bundle)"
"${NET[@]}" "${ENV[@]}" "$EXE" atlas --out "$T/out" --size 1500 > "$T/out/atlas.log" 2>&1 \
  || { cat "$T/out/atlas.log"; fail "frozen atlas failed (see $T/out/atlas.log)"; }
head -c 5 "$T/out/RA-marker-atlas_0R.pdf" | grep -q '%PDF-' || fail "frozen atlas wrote no PDF"
echo "atlas: $T/out/RA-marker-atlas_0R.pdf"

log "GUI under Xvfb (screenshot after ${GUI_WAIT} s)"
command -v xvfb-run > /dev/null || fail "xvfb-run is missing (apt-get install xvfb)"
command -v xwd > /dev/null || fail "xwd is missing (apt-get install x11-apps netpbm)"
SHOT=$T/out/gui-screenshot.png
cat > "$T/gui.sh" <<EOF
#!/bin/bash
# Runs inside xvfb-run: DISPLAY is set here and handed explicitly to the empty environment.
${ENV[*]} DISPLAY="\$DISPLAY" XAUTHORITY="\${XAUTHORITY:-}" QT_QPA_PLATFORM=xcb \\
  "$EXE" gui ${MODEL_ARGS[*]} "$APPDIR/_internal/resources/demo" > "$T/out/gui.log" 2>&1 &
pid=\$!
sleep $GUI_WAIT
if ! kill -0 \$pid 2>/dev/null; then
  wait \$pid; echo "the GUI exited early with status \$?" >&2; exit 1
fi
xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > "$SHOT"
kill \$pid; wait \$pid 2>/dev/null || true
EOF
chmod +x "$T/gui.sh"
"${NET[@]}" xvfb-run -a -s "-screen 0 1600x1000x24" "$T/gui.sh" || {
  cat "$T/out/gui.log"; fail "the GUI did not stay up under Xvfb (log: $T/out/gui.log)"; }
[ -s "$SHOT" ] || fail "no screenshot was written"
echo "screenshot: $SHOT"
tail -n 20 "$T/out/gui.log" || true

log "nothing written inside the install folder"
listing > "$T/listing-after.txt"
if ! diff "$T/listing-before.txt" "$T/listing-after.txt" > "$T/out/install-diff.txt"; then
  cat "$T/out/install-diff.txt"
  fail "files inside $APPDIR changed (see $T/out/install-diff.txt)"
fi
echo "unchanged: $(wc -l < "$T/listing-after.txt") entries"
echo "user data written (RA_DESKTOP_HOME, HOME):"
(cd "$T" && find ra-home home -type f | sed 's/^/  /')

if [ "${KEEP_APP:-0}" != 1 ]; then rm -rf "$T/app"; fi
log "installer-test passed: $ARCHIVE (evidence in $T/out)"
