#!/usr/bin/env bash
# The seeds' comparison (issue 25): VGG8, DenseNet121 and DenseNet169 with attention, and each
# DenseNet without it (the ablation), trained from scratch by one recipe on the same phantoms,
# split, augmentation and epoch budget; evaluated on the same 400 held-out phantoms.
# Usage: scripts/train_comparison.sh STAGE WORK_DIR
#   STAGE = data     -> WORK_DIR/train (1,000 phantoms, seed 1, as the demo model's 1.0.0 base) and
#                       WORK_DIR/test (400 held-out phantoms, seed 500000, as its model card)
#   STAGE = train    -> WORK_DIR/models/ARCH for every ARCH in $ARCHS (default: all five)
#   STAGE = evaluate -> WORK_DIR/eval/ARCH: evaluate, explain-eval and the comparison table
# Identical flags for every network; only --arch changes. --dropout-warmup is a no-op for the
# DenseNets (no dropout) and lets VGG8 (no batch norm) leave its initial plateau.
set -euo pipefail
STAGE=$1; WORK=$2
RA="${RA:-python3 -m ra_desktop}"
JOBS="${JOBS:-$(nproc)}"
ARCHS="${ARCHS:-densenet121 densenet169 vgg8 densenet121-no-attention densenet169-no-attention}"
EPOCHS="${EPOCHS:-8}"
case "$STAGE" in
  data)
    $RA phantom --n 1000 --seed 1 --size 1500 --out "$WORK/train" --workers "$JOBS" --quiet
    $RA phantom --n 400 --seed 500000 --size 1800 --out "$WORK/test" --workers "$JOBS" --quiet
    ;;
  train)
    for arch in $ARCHS; do
      [ -f "$WORK/models/$arch/manifest.json" ] && continue  # finished: keep it
      $RA train "$WORK/train" --arch "$arch" --out "$WORK/models/$arch" --name "ra-$arch-phantom" \
          --version 0.1.0 --epochs "$EPOCHS" --patience 3 --dropout-warmup 3 --batch-size 16 --lr 1e-4 \
          --seed 0 --augment-p 0.5 --weights-dtype float16 --workers "$JOBS" --quiet \
          $( [ -d "$WORK/models/$arch/checkpoint" ] && echo --resume )
      rm -rf "$WORK/models/$arch/checkpoint"
    done
    ;;
  evaluate)
    for arch in $ARCHS; do
      out="$WORK/eval/$arch"; mkdir -p "$out"
      $RA evaluate "$WORK/models/$arch" "$WORK/test" --out "$out"
      $RA explain-eval "$WORK/models/$arch" "$WORK/test" --n 40 --json "$out/explain.json" \
          | tee "$out/explain_table.txt"
    done
    ;;
  *) echo "unknown stage $STAGE (data|train|evaluate)" >&2; exit 2 ;;
esac
