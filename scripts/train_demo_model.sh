#!/usr/bin/env bash
# Rebuilds the bundled demo model (models/ra-vgg8-phantom) from phantoms, with the seeds recorded
# in its manifest. Seed ranges: training < 100000, development 300000+, held-out test >= 500000,
# demo cases >= 900000.
# Usage: scripts/train_demo_model.sh STAGE WORK_DIR [extra train args]
#   STAGE = data     -> phantoms into WORK_DIR: train (seed 1), twins (seed 2), held-out test,
#                       development (seed 300000), wrist-spared (seed 530000), wrist-spared
#                       development (seed 320000)
#   STAGE = base     -> 1.0.0: VGG8 from scratch on WORK_DIR/train -> WORK_DIR/base
#   STAGE = finetune -> 1.1.0: base fine-tuned on the twins with window jitter and lesion swap
#                       -> WORK_DIR/model, evaluated into WORK_DIR/eval
#   STAGE = refine   -> 1.2.0: 1.1.0 fine-tuned again, the epoch picked by the validation pointing
#                       game (--select-by pointing) -> WORK_DIR/refined, evaluated into
#                       WORK_DIR/eval_refined (held-out set and the fresh set)
#   STAGE = guide    -> 1.3.0: 1.2.0 fine-tuned with map guidance (--guide-maps) on the twins and
#                       300 + 300 wrist-spared phantoms (seed 3), the epoch picked by the pointing
#                       game on 40 standard + 40 wrist-spared development cases -> WORK_DIR/guided,
#                       evaluated into WORK_DIR/eval_guided (with deletion against the healthy
#                       twin on held-out twin pairs); 1.3.0 as shipped was fine-tuned from the
#                       shipped 1.2.0 (INIT=models/ra-vgg8-phantom at that version)
# 1.1.0 as shipped was fine-tuned from the shipped 1.0.0 weights (sha256 cac00c3e…, generator 1.0
# phantoms), and 1.2.0 from the shipped 1.1.0 (sha256 6ad5b095…); a base rebuilt here sees
# generator 1.2 phantoms, so it is comparable, not identical. Generator 1.2 draws the same pixels
# as 1.1; its ground truth adds the CMC joints (lesion regions and swap masks include them).
set -euo pipefail
STAGE=$1; WORK=$2; shift 2
RA="${RA:-python3 -m ra_desktop}"
JOBS="${JOBS:-$(nproc)}"
COMMON=(--arch vgg8 --name ra-vgg8-phantom --batch-size 16 --lr 1e-4 --seed 0 --workers "$JOBS"
        --weights-dtype float16 --augment-p 0.5 --quiet)
case "$STAGE" in
  data)
    # Training at 1,500 px and held-out cases at 1,800 px: the model input is 224 px either way.
    $RA phantom --n 1000 --seed 1 --size 1500 --out "$WORK/train" --workers "$JOBS" --quiet
    $RA phantom --n 1000 --seed 2 --size 1500 --out "$WORK/twins" --twins --workers "$JOBS" --quiet
    # Wrist-spared training phantoms (1.3.0 uses the first 300 of each class).
    $RA phantom --n 1000 --seed 3 --size 1500 --spare-wrist --out "$WORK/train_spared" --workers "$JOBS" --quiet
    $RA phantom --n 400 --seed 500000 --size 1800 --out "$WORK/test" --workers "$JOBS" --quiet
    $RA phantom --n 160 --seed 510000 --size 1800 --out "$WORK/fresh" --workers "$JOBS" --quiet
    # Development set (seeds 300000+): where explanation settings are chosen (SHAP's 14x14 cells),
    # so that neither the training nor the held-out sets pick them.
    $RA phantom --n 200 --seed 300000 --ra-fraction 1 --severity 2-3 --size 1800 --out "$WORK/dev" \
        --workers "$JOBS" --quiet
    # Wrist-spared RA (seeds 530000+): only the finger joints are diseased, so a map that always
    # peaks on the carpus cannot score there (the model card's "With a healthy wrist").
    $RA phantom --n 200 --seed 530000 --ra-fraction 1 --severity 2-3 --size 1800 --spare-wrist \
        --out "$WORK/spared" --workers "$JOBS" --quiet
    # Wrist-spared development set (seeds 320000+): scored with dev's first 40 cases by
    # train --select-data in the runs the model card lists under "Training runs toward ...".
    $RA phantom --n 40 --seed 320000 --ra-fraction 1 --severity 2-3 --size 1800 --spare-wrist \
        --out "$WORK/dev_spared" --workers "$JOBS" --quiet
    # Held-out twin pairs (seeds 540000+, 550000+): deletion with the healthy twin as the removed state.
    $RA phantom --n 80 --seed 540000 --twins --severity 2-3 --size 1800 --out "$WORK/test_twins" \
        --workers "$JOBS" --quiet
    $RA phantom --n 40 --seed 550000 --twins --spare-wrist --severity 2-3 --size 1800 \
        --out "$WORK/test_spared_twins" --workers "$JOBS" --quiet
    ;;
  base)
    $RA train "$WORK/train" --out "$WORK/base" --version 1.0.0 --epochs 40 --patience 8 \
        --dropout-warmup 6 --max-minutes 40 "${COMMON[@]}" "$@"
    rm -rf "$WORK/base/checkpoint"
    ;;
  finetune)
    # Twins + window jitter + lesion swap: the label lives only in the diseased joints' regions,
    # so the maps have something to point at (see the model card's "Where the maps point").
    $RA train "$WORK/twins" --out "$WORK/model" --version 1.1.0 --epochs 6 --patience 3 \
        --window-jitter 0.5 --lesion-swap 1.0 --init "${BASE:-$WORK/base}" --max-minutes 40 \
        "${COMMON[@]}" "$@"
    rm -rf "$WORK/model/checkpoint"  # optimizer state: not part of the shipped model
    $RA evaluate "$WORK/model" "$WORK/test" --out "$WORK/eval"
    $RA explain-eval "$WORK/model" "$WORK/test" --n 40 --json "$WORK/eval/explain.json" \
        | tee "$WORK/eval/explain_table.txt"
    python3 scripts/model_checks.py "$WORK/model" --test "$WORK/test" --out "$WORK/eval"
    ;;
  refine)
    $RA train "$WORK/twins" --out "$WORK/refined" --version 1.2.0 --epochs 8 --patience 4 \
        --window-jitter 0.5 --lesion-swap 1.0 --select-by pointing --select-cases 40 \
        --init "${INIT:-$WORK/model}" --max-minutes 50 "${COMMON[@]}" "$@"
    rm -rf "$WORK/refined/checkpoint"
    $RA evaluate "$WORK/refined" "$WORK/test" --out "$WORK/eval_refined"
    for set in test fresh; do
      $RA explain-eval "$WORK/refined" "$WORK/$set" --n 40 --json "$WORK/eval_refined/explain_$set.json" \
          | tee "$WORK/eval_refined/explain_table_$set.txt"
    done
    python3 scripts/model_checks.py "$WORK/refined" --test "$WORK/test" --out "$WORK/eval_refined"
    ;;
  guide)
    python3 - "$WORK" <<'PY'
import csv, sys
work = sys.argv[1]
rows, taken = [], {}
for folder, limit in (("twins", None), ("train_spared", 300)):
    with open(f"{work}/{folder}/labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            taken[(folder, row["label"])] = taken.get((folder, row["label"]), 0) + 1
            if limit is None or taken[(folder, row["label"])] <= limit:
                rows.append({**row, "path": f"{work}/{folder}/{row['path']}"})
with open(f"{work}/guide_train.csv", "w", newline="") as fh:
    writer = csv.DictWriter(fh, fieldnames=["path", "label", "patient_id", "severity"])
    writer.writeheader()
    writer.writerows(rows)
with open(f"{work}/select.csv", "w", newline="") as fh:  # 40 standard + 40 wrist-spared dev cases
    writer = csv.DictWriter(fh, fieldnames=["path", "label", "patient_id", "severity"])
    writer.writeheader()
    for folder in ("dev", "dev_spared"):
        with open(f"{work}/{folder}/labels.csv", newline="") as src:
            for row in list(csv.DictReader(src))[:40]:
                writer.writerow({**row, "path": f"{work}/{folder}/{row['path']}"})
PY
    $RA train "$WORK/guide_train.csv" --out "$WORK/guided" --version 1.3.0 --epochs 7 --patience 3 \
        --window-jitter 0.5 --lesion-swap 1.0 --swap-subset 1.0 --guide-maps 2.0 \
        --select-by pointing --select-cases 80 --select-data "$WORK/select.csv" \
        --init "${INIT:-$WORK/refined}" --max-minutes 60 "${COMMON[@]}" "$@"
    rm -rf "$WORK/guided/checkpoint"
    $RA evaluate "$WORK/guided" "$WORK/test" --out "$WORK/eval_guided"
    for set in test fresh spared; do
      $RA explain-eval "$WORK/guided" "$WORK/$set" --n 40 --json "$WORK/eval_guided/explain_$set.json" \
          | tee "$WORK/eval_guided/explain_table_$set.txt"
    done
    for set in test_twins test_spared_twins; do
      $RA explain-eval "$WORK/guided" "$WORK/$set" --n 40 --removal twin --no-insertion \
          --randomisation-cases 0 --pointing-n 0 | tee "$WORK/eval_guided/explain_table_$set.txt"
    done
    python3 scripts/model_checks.py "$WORK/guided" --test "$WORK/test" --out "$WORK/eval_guided"
    ;;
  *) echo "unknown stage $STAGE (data|base|finetune|refine|guide)" >&2; exit 2 ;;
esac
