#!/usr/bin/env bash
# Rebuilds the bundled demo model (models/ra-vgg8-phantom) from phantoms, with the seeds recorded
# in its manifest. Seed ranges: training < 100000, held-out test >= 500000, demo cases >= 900000.
# Usage: scripts/train_demo_model.sh STAGE WORK_DIR [extra train args]
#   STAGE = data  -> training and held-out phantoms into WORK_DIR
#   STAGE = train -> train + evaluate into WORK_DIR/model and WORK_DIR/eval
set -euo pipefail
STAGE=$1; WORK=$2; shift 2
RA="${RA:-python3 -m ra_desktop}"
JOBS="${JOBS:-$(nproc)}"
case "$STAGE" in
  data)
    # Training at 1,500 px and held-out cases at 1,800 px: the model input is 224 px either way.
    $RA phantom --n 1000 --seed 1 --size 1500 --out "$WORK/train" --workers "$JOBS" --quiet
    $RA phantom --n 400 --seed 500000 --size 1800 --out "$WORK/test" --workers "$JOBS" --quiet
    ;;
  train)
    $RA train "$WORK/train" --arch vgg8 --out "$WORK/model" --name ra-vgg8-phantom --version 1.0.0 \
        --epochs 40 --patience 8 --batch-size 16 --lr 1e-4 --seed 0 --workers "$JOBS" \
        --weights-dtype float16 --dropout-warmup 6 --augment-p 0.5 --max-minutes 40 --quiet "$@"
    rm -rf "$WORK/model/checkpoint"  # optimizer state: not part of the shipped model
    $RA evaluate "$WORK/model" "$WORK/test" --out "$WORK/eval"
    ;;
  *) echo "unknown stage $STAGE (data|train)" >&2; exit 2 ;;
esac
