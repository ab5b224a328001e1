"""``ra-desktop train DATA --arch vgg8 --out MODEL_DIR``: train a model folder.

DATA is a folder with RA/ and Normal/ subfolders or a CSV ``path,label[,patient_id]``. The same
command runs on several GPUs or nodes under ``torchrun`` (DistributedDataParallel).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ra_desktop.errors import DataError, RADesktopError

# == ra_desktop.model.ARCHITECTURES (no torch here); "-no-attention": the ablation of the comparison
ARCH_CHOICES = ("vgg8", "densenet121", "densenet169", "densenet121-no-attention", "densenet169-no-attention")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Multi-GPU / multi-node: torchrun --nproc_per_node 4 -m ra_desktop train DATA ... "
                     "(NCCL on GPUs, Gloo on CPU; only rank 0 writes).")
    parser.add_argument("data", type=Path, help="folder with RA/ and Normal/ (or labels.csv), or a CSV file")
    parser.add_argument("--arch", choices=ARCH_CHOICES, default="vgg8", help="network (default: vgg8)")
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs (default: 30)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per step per process (default: 16)")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default: 1e-4)")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of patients held out for validation; 0 = none, threshold 0.5 (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed for split, augmentation and weights (default: 0)")
    parser.add_argument("--patience", type=int, default=5,
                        help="stop after this many epochs without a better validation AUC (default: 5)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--resume", action="store_true", help="continue from MODEL_DIR/checkpoint/")
    parser.add_argument("--workers", type=int, default=0, help="data-loading / decoding processes (default: 0)")
    parser.add_argument("--name", help="model name in the manifest (default: ra-ARCH[-phantom])")
    parser.add_argument("--version", default="0.1.0", help="model version in the manifest (default: 0.1.0)")
    parser.add_argument("--letterbox", action="store_true",
                        help="keep the aspect ratio (pad) instead of the published resize 256 + crop 224")
    parser.add_argument("--resize", type=int, default=256, help="resize side before the centre crop (default: 256)")
    parser.add_argument("--crop", type=int, default=224, help="model input side (default: 224)")
    parser.add_argument("--weights-dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="auto: mixed precision on CUDA, bf16 on CPUs with native bf16, else fp32")
    parser.add_argument("--dropout-warmup", type=int, default=0, metavar="EPOCHS",
                        help="train the first EPOCHS epochs with dropout off (curriculum dropout; "
                             "helps VGG8, which has no batch norm, leave the initial plateau)")
    parser.add_argument("--augment-p", type=float, default=1.0,
                        help="share of training samples given one of the published augmentations "
                             "(rotation ±45°, brightness 0.6–1.4, both); the rest stay original (default 1.0)")
    parser.add_argument("--window-jitter", type=float, default=0.0, metavar="P",
                        help="share of training samples also given a random intensity window and gamma "
                             "(not published; removes the global-level shortcut; default 0)")
    parser.add_argument("--lesion-swap", type=float, default=0.0, metavar="P",
                        help="twin phantoms only: share of samples replaced by the RA case's joint regions "
                             "on its healthy twin (RA) or the reverse (normal); not published; default 0")
    parser.add_argument("--swap-outside", choices=("twin", "mean"), default="twin",
                        help="lesion swap background: the other twin (default) or the mean of both twins, "
                             "the same for both labels")
    parser.add_argument("--swap-subset", type=float, default=0.0, metavar="P",
                        help="share of RA lesion swaps that paste a random subset of the diseased regions "
                             "(each finger joint, the wrist as one), so finger disease alone carries the "
                             "label; not published; default 0")
    parser.add_argument("--guide-maps", type=float, default=0.0, metavar="W",
                        help="phantoms only: map guidance, W × (the share of each RA image's Grad-CAM map outside "
                             "its diseased joints + how far its lesion cells alone are from RA and the other cells "
                             "alone from normal) added to the loss; not published; default 0 = off")
    parser.add_argument("--select-by", choices=("auc", "pointing"), default="auc",
                        help="epoch-selection score: validation AUC (default) or, for phantoms with ground "
                             "truth, the validation pointing game of Grad-CAM and SHAP (not published)")
    parser.add_argument("--select-cases", type=int, default=40, metavar="N",
                        help="validation RA phantoms scored per epoch with --select-by pointing (default 40)")
    parser.add_argument("--select-data", type=Path, default=None, metavar="DIR",
                        help="with --select-by pointing: score these phantoms (a development set, e.g. "
                             "ra-desktop phantom --spare-wrist) instead of the validation split")
    parser.add_argument("--init", type=Path, default=None, metavar="MODEL_DIR",
                        help="start from this model folder's weights (fine-tuning; same --arch)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop after the epoch that exceeds this wall-clock budget (keeps the best epoch)")
    parser.add_argument("--max-per-class", type=int, help="use at most N images per class (quick runs)")
    syn = parser.add_mutually_exclusive_group()
    syn.add_argument("--synthetic", dest="synthetic", action="store_true", default=None,
                     help="mark the model as trained on synthetic data (default: detect phantom data)")
    syn.add_argument("--no-synthetic", dest="synthetic", action="store_false",
                     help="do not mark it synthetic even if phantom data is detected")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def command_line(args: argparse.Namespace) -> str:
    """The command as typed (from sys.argv) when this process was started as ``... train``."""
    argv = sys.argv[1:]
    if "train" in argv:
        prefix = "torchrun ... -m ra_desktop" if _world_size() > 1 else "ra-desktop"
        return prefix + " " + shlex.join(argv[argv.index("train"):])
    # Called in-process (tests, scripts): rebuild an equivalent command from the parsed options.
    parts = ["ra-desktop", "train", str(args.data)]
    for key, value in sorted(vars(args).items()):
        if key in ("data", "_module") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    return shlex.join(parts)


def _world_size() -> int:
    import os

    return int(os.environ.get("WORLD_SIZE", "1"))


def _check_out(args: argparse.Namespace) -> None:
    out = args.out
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; give a folder for the model")
    existing = out.is_dir() and ((out / "manifest.json").exists() or (out / "checkpoint" / "last.pt").exists())
    if existing and not args.resume:
        raise DataError(f"--out {out} already holds a model or a checkpoint; add --resume to continue "
                        "that run, or choose another --out (nothing was overwritten)")


def run(args: argparse.Namespace) -> int:
    try:
        from ra_desktop.preprocess import PreprocessConfig  # lazy, with the trainer: `train --help` loads neither

        _check_out(args)
        preprocess = PreprocessConfig(mode="letterbox" if args.letterbox else "resize_crop",
                                      resize=args.resize, crop=args.crop)
        from ra_desktop.train.trainer import TrainOptions, train  # lazy: torch

        opts = TrainOptions(
            data=args.data, arch=args.arch, out=args.out, epochs=args.epochs, batch_size=args.batch_size,
            lr=args.lr, val_fraction=args.val_fraction, seed=args.seed, patience=args.patience,
            device=args.device, resume=args.resume, workers=args.workers, name=args.name,
            version=args.version, preprocess=preprocess, weights_dtype=args.weights_dtype,
            precision=args.precision, max_minutes=args.max_minutes,
            dropout_warmup=args.dropout_warmup, augment_p=args.augment_p,
            window_jitter_p=args.window_jitter, init=args.init, lesion_swap_p=args.lesion_swap,
            swap_outside=args.swap_outside, swap_subset_p=args.swap_subset, select_by=args.select_by,
            select_cases=args.select_cases, select_data=args.select_data, guide_maps=args.guide_maps,
            max_per_class=args.max_per_class, synthetic=args.synthetic, command=command_line(args),
            progress=not args.quiet,
        )
        train(opts)
    except RADesktopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted; continue with the same command plus --resume (checkpoint in {args.out}/checkpoint)",
              file=sys.stderr)
        return 130
    return 0
