#!/usr/bin/env bash
# The seeds' comparison (issue 25): VGG8, DenseNet121 and DenseNet169 with attention, and each
# DenseNet without it (the ablation), trained from scratch by one recipe on the same phantoms,
# split, augmentation and epoch budget; evaluated on the same 400 held-out phantoms.
# Usage: scripts/train_comparison.sh STAGE WORK_DIR
#   STAGE = data     -> WORK_DIR/train (1,000 phantoms, seed 1, as the demo model's 1.0.0 base),
#                       WORK_DIR/test (400 held-out phantoms, seed 500000, as its model card),
#                       WORK_DIR/spared (200 wrist-spared RA, seed 530000: the pointing game where
#                       the wrist is healthy) and WORK_DIR/test_twins (40 held-out twin pairs, seed
#                       540000: deletion with the healthy twin as the removed state)
#   STAGE = train    -> WORK_DIR/models/ARCH for every ARCH in $ARCHS (default: all five)
#   STAGE = evaluate -> WORK_DIR/eval/ARCH: evaluate, explain-eval, model checks; then
#                       python scripts/comparison_table.py WORK_DIR --bench bench/results/bench.json
#                       prints the table. The bundled model as a reference row, evaluated alike:
#                       ln -s "$PWD/models/ra-vgg8-phantom" WORK_DIR/models/vgg8-bundled and
#                       ARCHS=vgg8-bundled scripts/train_comparison.sh evaluate WORK_DIR
# Identical flags for every network; only --arch changes. --dropout-warmup is a no-op for the
# DenseNets (no dropout) and lets VGG8 (no batch norm) leave its initial plateau.
set -euo pipefail
STAGE=$1; WORK=$2
PY="${PY:-python3}"
RA="$PY -m ra_desktop"
JOBS="${JOBS:-$(nproc)}"
ARCHS="${ARCHS:-densenet121 densenet169 vgg8 densenet121-no-attention densenet169-no-attention}"
EPOCHS="${EPOCHS:-8}"
case "$STAGE" in
  data)
    $RA phantom --n 1000 --seed 1 --size 1500 --out "$WORK/train" --workers "$JOBS" --quiet
    $RA phantom --n 400 --seed 500000 --size 1800 --out "$WORK/test" --workers "$JOBS" --quiet
    $RA phantom --n 200 --seed 530000 --ra-fraction 1 --severity 2-3 --size 1800 --spare-wrist \
        --out "$WORK/spared" --workers "$JOBS" --quiet
    $RA phantom --n 80 --seed 540000 --twins --severity 2-3 --size 1800 --out "$WORK/test_twins" \
        --workers "$JOBS" --quiet
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
    # Sized for 2 CPU cores: the pointing game alone (curves on one case: --n 1) on the first 60
    # eligible held-out and 100 wrist-spared cases, deletion with the healthy twin as the removed
    # state on 20 held-out pairs; the blur curves and the randomisation check are left out (the
    # bundled model's card has them). Finished steps are kept.
    for arch in $ARCHS; do
      out="$WORK/eval/$arch"; mkdir -p "$out"
      [ -f "$out/evaluation.json" ] || $RA evaluate "$WORK/models/$arch" "$WORK/test" --out "$out"
      for set in test:60 spared:100; do
        [ -f "$out/explain_${set%%:*}.json" ] && continue
        $RA explain-eval "$WORK/models/$arch" "$WORK/${set%%:*}" --n 1 --pointing-n "${set##*:}" --no-insertion \
            --randomisation-cases 0 --json "$out/explain_${set%%:*}.json" | tee "$out/explain_table_${set%%:*}.txt"
      done
      [ -f "$out/explain_table_twins.txt" ] || $RA explain-eval "$WORK/models/$arch" "$WORK/test_twins" --n 20 \
          --removal twin --no-insertion --randomisation-cases 0 --pointing-n 0 | tee "$out/explain_table_twins.txt"
      [ -f "$out/checks.json" ] || $PY scripts/model_checks.py "$WORK/models/$arch" --test "$WORK/test" --out "$out"
    done
    ;;
  *) echo "unknown stage $STAGE (data|train|evaluate)" >&2; exit 2 ;;
esac
