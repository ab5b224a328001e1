"""The training loop: Adam, class-weighted loss, AMP on CUDA, DDP under torchrun, early stopping on
validation AUC (or the validation pointing game, ``pointing.py``), a checkpoint every epoch, and a
complete model folder at the end (rank 0 only)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ra_desktop.errors import DataError
from ra_desktop.evaluate.metrics import roc_auc
from ra_desktop.io.dataset import DataSet, Sample, check_two_classes, discover, split_by_patient
from ra_desktop.model import build_model, load_model, pick_device
from ra_desktop.model.registry import architecture_info
from ra_desktop.preprocess import PreprocessConfig
from ra_desktop.train import checkpoint as ckpt
from ra_desktop.train import distributed as D
from ra_desktop.train import lesion_swap
from ra_desktop.train.cache import UnitCache, build_cache, model_input_with_mask
from ra_desktop.train.guidance import MapGuidance, lesion_masks
from ra_desktop.train.outputs import write_model_folder
from ra_desktop.train.pointing import ValidationPointing
from ra_desktop.train.precision import amp_settings


@dataclass
class TrainOptions:
    """Everything ``ra-desktop train`` accepts (see ra_desktop/cli/train.py for the meanings)."""

    data: Path
    arch: str
    out: Path
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-4
    val_fraction: float = 0.2
    seed: int = 0
    patience: int = 5
    device: str = "auto"
    resume: bool = False
    workers: int = 0
    name: str | None = None
    version: str = "0.1.0"
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    weights_dtype: str = "float32"
    max_per_class: int | None = None
    synthetic: bool | None = None  # None: detect phantom data
    command: str = ""
    progress: bool = True
    precision: str = "auto"  # auto | fp32 | bf16
    max_minutes: float | None = None  # stop after the epoch that passes this wall-clock budget
    dropout_warmup: int = 0  # epochs trained with dropout off before the architecture's rate applies
    augment_p: float = 1.0  # share of training samples that get one of the published augmentations
    window_jitter_p: float = 0.0  # share that also get a random intensity window (not published)
    init: Path | None = None  # start from this model folder's weights (same architecture)
    lesion_swap_p: float = 0.0  # share of twin-phantom samples replaced by a lesion swap (lesion_swap.py)
    swap_outside: str = "twin"  # the swap's background: the other twin, or the mean of both (lesion_swap.swap)
    swap_subset_p: float = 0.0  # share of RA swaps that paste a random subset of the diseased regions
    select_by: str = "auc"  # auc | pointing: the epoch-selection score (pointing.py)
    select_cases: int = 40  # validation RA phantoms scored per epoch when select_by == "pointing"
    select_data: Path | None = None  # score pointing on this development set instead of the validation split
    guide_maps: float = 0.0  # weight of the map-guidance loss (guidance.py); 0 = off


class CachedImages(Dataset):
    """Model inputs from cached images; augmentation seeded by (seed, epoch, index), so a run and
    its resumption see the same augmented images whatever the worker count.

    Items are ``(input, label, index, lesion)``. With ``lesion_masks`` (map guidance), ``lesion``
    is the (crop, crop) mask of an RA image's diseased joints, moved with the augmentation (zeros
    when unknown or normal); otherwise an empty tensor."""

    def __init__(self, cache: UnitCache, config: PreprocessConfig, augment: bool, seed: int, augment_p: float = 1.0,
                 window_jitter_p: float = 0.0, swap_pairs: dict | None = None, swap_p: float = 0.0,
                 swap_outside: str = "twin", swap_subset_p: float = 0.0,
                 lesion_masks: list[np.ndarray | None] | None = None):
        self.units, self.labels = cache.units, cache.labels
        self.config, self.augment, self.seed, self.epoch = config, augment, seed, 0
        self.augment_p, self.window_jitter_p = augment_p, window_jitter_p
        self.swap_pairs, self.swap_p, self.swap_outside = swap_pairs or {}, swap_p, swap_outside
        self.swap_subset_p = swap_subset_p
        self.lesion_masks = lesion_masks

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, i: int):
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.augment else None
        unit, label = self.units[i], int(self.labels[i])
        guided = self.lesion_masks is not None
        mask = self.lesion_masks[i] if guided else None
        if rng is not None and self.swap_p > 0 and i in self.swap_pairs and rng.random() < self.swap_p:
            unit, label, pasted = lesion_swap.swap(self.units, self.swap_pairs[i], rng, self.swap_outside,
                                                   self.swap_subset_p)
            mask = pasted if guided and label == 1 else None
        mask = None if mask is None else mask.astype(np.float32)  # stored as float16
        x, mask = model_input_with_mask(unit, mask, self.config, rng, self.augment_p, self.window_jitter_p)
        if not guided:
            lesion = torch.zeros(0)
        elif mask is None:
            lesion = torch.zeros(x.shape[1:])
        else:
            lesion = torch.from_numpy(mask)
        return torch.from_numpy(x), label, i, lesion


def _say(info: D.DistInfo, msg: str) -> None:
    if info.is_main:
        print(msg, flush=True)


def _cap_per_class(samples: list[Sample], n: int | None, seed: int) -> list[Sample]:
    if not n:
        return samples
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for lab in (1, 0):
        idx = [i for i, s in enumerate(samples) if s.label == lab]
        keep = sorted(rng.choice(idx, size=min(n, len(idx)), replace=False).tolist()) if idx else []
        out += [samples[i] for i in keep]
    return out


def prepare_data(opts: TrainOptions, info: D.DistInfo) -> tuple[DataSet, UnitCache, UnitCache]:
    """Discover, check, split and decode; every failure here happens before any training."""
    ds = discover(opts.data)
    if ds.missing:
        _say(info, f"warning: {len(ds.missing)} file(s) listed in {ds.source.name} do not exist (skipped)")
    samples = _cap_per_class(ds.samples, opts.max_per_class, opts.seed)
    check_two_classes(samples, f"training data {opts.data}")
    train_s, val_s = split_by_patient(samples, opts.val_fraction, opts.seed)
    check_two_classes(train_s, f"training split of {opts.data} (try a smaller --val-fraction)")
    train_c = build_cache(train_s, opts.preprocess, opts.workers, opts.progress and info.is_main, "decode train")
    val_c = build_cache(val_s, opts.preprocess, opts.workers, opts.progress and info.is_main, "decode val")
    skipped = train_c.skipped + val_c.skipped
    if skipped:
        _say(info, f"warning: skipped {len(skipped)} unreadable file(s):")
        for p, why in skipped:
            _say(info, f"  {p}: {why}")
    check_two_classes(train_c.samples, f"readable training images of {opts.data}")
    if val_s and len(set(val_c.labels.tolist())) < 2:
        _say(info, "warning: the validation split has one class; validation AUC is undefined, "
             "early stopping uses the validation loss and the threshold stays 0.5")
    return ds, train_c, val_c


def _class_weights(labels: np.ndarray) -> torch.Tensor:
    # Inverse frequency, scaled so a balanced set gets weights (1, 1).
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    return torch.tensor(labels.size / (2.0 * np.maximum(counts, 1.0)), dtype=torch.float32)


def _set_dropout(module: nn.Module, rates: dict[str, float], on: bool) -> None:
    """Curriculum dropout (Morerio et al., 2017): the published VGG8 (no batch norm) sits on the
    ln 2 plateau for hundreds of steps with dropout 0.5 from the start; without dropout it leaves
    it in tens. The architecture and its saved rate are unchanged; only the first epochs differ."""
    for name, m in module.named_modules():
        if isinstance(m, nn.Dropout):
            m.p = rates[name] if on else 0.0


def _loader(dataset, batch_size, info, seed, shuffle, workers) -> tuple[DataLoader, DistributedSampler]:
    # DistributedSampler also in a single process: its shuffle depends only on (seed, epoch), which
    # makes --resume reproduce the uninterrupted run exactly.
    sampler = DistributedSampler(dataset, num_replicas=info.world_size, rank=info.rank,
                                 shuffle=shuffle, seed=seed, drop_last=False)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      pin_memory=torch.cuda.is_available()), sampler


@torch.no_grad()
def predict(module: nn.Module, loader: DataLoader, device, amp_dtype, info: D.DistInfo,
            loss_fn: nn.Module | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """P(RA) and labels for every sample of ``loader`` (gathered over ranks, de-duplicated)."""
    module.eval()
    idx, probs, labels, loss_sum = [], [], [], 0.0
    for x, y, i, _ in loader:
        x, y = x.to(device, non_blocking=True), y.to(device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = module(x)
        logits = logits.float()
        if loss_fn is not None:
            loss_sum += float(loss_fn(logits, y)) * len(y)
        probs.append(torch.softmax(logits, 1)[:, 1].cpu().numpy())
        labels.append(y.cpu().numpy())
        idx.append(i.numpy())
    local = (np.concatenate(idx) if idx else np.zeros(0, int), np.concatenate(probs) if probs else np.zeros(0),
             np.concatenate(labels) if labels else np.zeros(0, int), loss_sum)
    parts = D.all_gather_objects(info, local)
    order: dict[int, tuple[float, int]] = {}
    for ids, p, lab, _ in parts:  # DistributedSampler pads with repeats: keep one of each
        for k, pv, lv in zip(ids.tolist(), p.tolist(), lab.tolist()):
            order[k] = (pv, lv)
    keys = sorted(order)
    n = max(len(keys), 1)
    loss = sum(part[3] for part in parts) / n
    return np.array([order[k][0] for k in keys]), np.array([order[k][1] for k in keys], int), loss


def train(opts: TrainOptions) -> dict:
    """Run training; returns a summary (rank 0: includes the model folder path)."""
    info, device = D.setup(pick_device(opts.device))
    try:
        return _train(opts, info, device, build_model)
    finally:
        D.cleanup(info)


def _init_from(model: nn.Module, opts: TrainOptions) -> None:
    """Load a verified model folder's weights (fine-tuning); refuse another architecture."""
    source = load_model(opts.init, device="cpu")
    if source.manifest.architecture != opts.arch:
        raise DataError(f"--init {opts.init} is a {source.manifest.architecture} model, not {opts.arch}")
    model.load_state_dict({k: v.float() for k, v in source.module.state_dict().items()}, strict=True)


def _train(opts: TrainOptions, info: D.DistInfo, device: torch.device, build_model) -> dict:
    if opts.epochs < 1 or opts.batch_size < 1 or opts.lr <= 0:
        raise DataError("--epochs and --batch-size must be >= 1 and --lr > 0")
    for flag, value in (("--augment-p", opts.augment_p), ("--window-jitter", opts.window_jitter_p),
                        ("--lesion-swap", opts.lesion_swap_p), ("--swap-subset", opts.swap_subset_p)):
        if not 0.0 <= value <= 1.0:
            raise DataError(f"{flag} is a probability: give a value from 0 to 1, not {value:g}")
    if opts.swap_subset_p and not opts.lesion_swap_p:
        raise DataError("--swap-subset changes lesion swaps: it needs --lesion-swap P > 0")
    if opts.select_data is not None and opts.select_by != "pointing":
        raise DataError("--select-data is the set scored by --select-by pointing; add that option")
    if not 0.0 <= opts.guide_maps < math.inf:
        raise DataError(f"--guide-maps is a loss weight: give a value >= 0, not {opts.guide_maps:g}")
    ds, train_c, val_c = prepare_data(opts, info)
    _say(info, f"data: {ds.describe()}")
    _say(info, f"split: {len(train_c)} train / {len(val_c)} validation images; device {device}"
         + (f"; DDP {info.world_size} processes ({info.backend})" if info.enabled else ""))
    ckpt.seed_everything(opts.seed)
    # channels_last: oneDNN's fast convolution layout on CPU, tensor cores' on GPU.
    model = build_model(opts.arch)
    if opts.init is not None and not opts.resume:
        _init_from(model, opts)
        _say(info, f"initial weights from {opts.init}")
    model = model.to(device, memory_format=torch.channels_last)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if info.enabled else model
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr)
    use_amp, amp_dtype = amp_settings(device, opts.precision)
    _say(info, f"precision: {'mixed ' + str(amp_dtype).replace('torch.', '') if use_amp else 'fp32'}")
    started = time.monotonic()
    dropout_rates = {n: m.p for n, m in model.named_modules() if isinstance(m, nn.Dropout)}
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    loss_fn = nn.CrossEntropyLoss(weight=_class_weights(train_c.labels).to(device))
    pairs = {}
    if opts.lesion_swap_p > 0:
        pairs = lesion_swap.find_pairs(train_c.samples, train_c.units[0].shape) if len(train_c) else {}
        if not pairs:
            raise DataError("--lesion-swap needs twin phantoms (ra-desktop phantom --twins); none found")
        _say(info, f"lesion swap: {len(pairs) // 2} twin pairs, p = {opts.lesion_swap_p:g}")
    masks = guide = None
    if opts.guide_maps > 0:
        masks = lesion_masks(train_c.samples, train_c.units[0].shape)
        if not any(m is not None for m in masks) and not pairs:
            raise DataError("--guide-maps needs RA phantoms with joint ground truth in the training data; none found")
        guide = MapGuidance(model, architecture_info(opts.arch).gradcam_target_layer)
        _say(info, f"map guidance: weight {opts.guide_maps:g} on {sum(m is not None for m in masks)} RA phantoms"
             + (" and every RA lesion swap" if pairs else ""))
    train_ds = CachedImages(train_c, opts.preprocess, augment=True, seed=opts.seed, augment_p=opts.augment_p,
                            window_jitter_p=opts.window_jitter_p, swap_pairs=pairs, swap_p=opts.lesion_swap_p,
                            swap_outside=opts.swap_outside, swap_subset_p=opts.swap_subset_p, lesion_masks=masks)
    train_dl, train_sampler = _loader(train_ds, opts.batch_size, info, opts.seed, True, opts.workers)
    val_dl = _loader(CachedImages(val_c, opts.preprocess, False, opts.seed), opts.batch_size, info,
                     opts.seed, False, opts.workers)[0] if len(val_c) else None

    pointing = None
    if opts.select_by == "pointing":
        where = "validation split" if opts.select_data is None else str(opts.select_data)
        samples = val_c.samples if opts.select_data is None else discover(opts.select_data).samples
        pointing = ValidationPointing(samples, opts.preprocess,
                                      architecture_info(opts.arch).gradcam_target_layer, opts.select_cases, opts.seed)
        if not len(pointing):
            raise DataError("--select-by pointing needs RA phantoms of severity >= 2 with ground truth "
                            f"in the {where}; none found")
        _say(info, f"epoch selection: pointing game on {len(pointing)} RA phantoms of the {where}")
    elif opts.select_by != "auc":
        raise DataError(f"--select-by must be auc or pointing, not {opts.select_by!r}")

    split = {"train": [str(s.path) for s in train_c.samples], "val": [str(s.path) for s in val_c.samples]}
    state = {"epoch": 0, "history": [], "best": {"score": [-math.inf] * (3 if pointing else 2), "epoch": 0},
             "bad_epochs": 0, "stopped": False}
    best_weights = ckpt.cpu_state_dict(model)
    if opts.resume:
        saved, saved_best = ckpt.load(opts.out, map_location="cpu")
        if saved["arch"] != opts.arch or saved["split"] != split:
            raise DataError(f"--resume: checkpoint in {opts.out} was made with --arch {saved['arch']} "
                            "and another data split; use the same DATA, --arch and --seed, or a new --out")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        ckpt.set_rng_state(saved["rng"])
        state = saved["loop"]
        best_weights = saved_best or best_weights
        _say(info, f"resuming after epoch {state['epoch']} from {opts.out / ckpt.CHECKPOINT_DIR}")

    from tqdm import tqdm

    while state["epoch"] < opts.epochs and not state["stopped"]:
        epoch = state["epoch"] + 1
        train_sampler.set_epoch(epoch)
        train_ds.epoch = epoch
        _set_dropout(model, dropout_rates, on=epoch > opts.dropout_warmup)
        ddp.train()
        t0, seen, loss_sum, ep_p, ep_y = time.perf_counter(), 0, 0.0, [], []
        guide_sums, guide_n = {"gradcam": 0.0, "shap": 0.0}, 0
        bar = tqdm(train_dl, desc=f"epoch {epoch}/{opts.epochs}", unit="batch", disable=not (opts.progress and info.is_main),
                   leave=False)
        for x, y, _, lesion in bar:
            x = x.to(device, non_blocking=True, memory_format=torch.channels_last)
            y = y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                if guide is None:
                    logits = ddp(x)
                    terms = None
                else:
                    with guide.recording():
                        logits = ddp(x)
                    terms = guide.loss(logits, lesion.to(device))
            loss = ce = loss_fn(logits.float(), y)
            if terms is not None:
                loss = loss + opts.guide_maps * (terms["gradcam"] + terms["shap"])
                guide_n += 1
                for k in guide_sums:
                    guide_sums[k] += float(terms[k].detach())
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            seen += len(y)
            loss_sum += float(ce.detach()) * len(y)
            ep_p.append(torch.softmax(logits.detach().float(), 1)[:, 1].cpu().numpy())
            ep_y.append(y.cpu().numpy())
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", auc=f"{roc_auc(np.concatenate(ep_y), np.concatenate(ep_p)):.3f}")
        train_time = time.perf_counter() - t0
        tot_loss, tot_seen = D.all_reduce_sum(info, [loss_sum, float(seen)], device)
        row = {"epoch": epoch, "train_loss": tot_loss / max(tot_seen, 1),
               "train_auc": roc_auc(np.concatenate(ep_y), np.concatenate(ep_p)),  # this rank's share
               "images_per_s": tot_seen / max(train_time, 1e-9), "train_seconds": train_time}
        if guide is not None:  # this rank's, mean over batches
            row["train_gradcam_outside_share"] = guide_sums["gradcam"] / max(guide_n, 1)
            row["train_shap_coalition_loss"] = guide_sums["shap"] / max(guide_n, 1)
        val_p = val_y = None
        if val_dl is not None:
            val_p, val_y, row["val_loss"] = predict(ddp, val_dl, device, amp_dtype, info, loss_fn)
            row["val_auc"] = roc_auc(val_y, val_p)
            row["val_accuracy_at_0.5"] = float(np.mean((val_p >= 0.5) == (val_y == 1))) if len(val_y) else math.nan
        # Early-stopping score: validation AUC, ties (AUC saturates on small sets) broken by the
        # lower validation loss; without a usable validation set the latest epoch wins. With
        # --select-by pointing the validation pointing game comes first (every rank computes it,
        # so all agree on stopping).
        auc = row.get("val_auc", math.nan)
        score = [auc if math.isfinite(auc) else -math.inf, -row.get("val_loss", -epoch)]
        if pointing is not None:
            rates = pointing(model)
            row.update({"val_pointing_gradcam": rates["gradcam"], "val_pointing_shap": rates["shap"]})
            score = [rates["mean"], *score]
        state["history"].append(row)
        improved = score > state["best"]["score"]
        if improved:
            state["best"] = {"score": score, "epoch": epoch,
                             "val_probs": None if val_p is None else val_p.tolist(),
                             "val_labels": None if val_y is None else val_y.tolist()}
            state["bad_epochs"] = 0
            best_weights = ckpt.cpu_state_dict(model)
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        state["stopped"] = bool(val_dl is not None and state["bad_epochs"] >= opts.patience)
        out_of_time = opts.max_minutes is not None and (time.monotonic() - started) / 60 >= opts.max_minutes
        if out_of_time and not state["stopped"]:
            state["stopped"] = True
            _say(info, f"time budget of {opts.max_minutes:g} min reached after epoch {epoch}; "
                       f"keeping best epoch {state['best']['epoch']}")
        if info.is_main:
            ckpt.save(opts.out, {"arch": opts.arch, "split": split, "model": ckpt.cpu_state_dict(model),
                                 "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                                 "rng": ckpt.rng_state(), "loop": state}, best_weights if improved else None)
            print(_epoch_line(row, improved), flush=True)
            if state["stopped"] and state["bad_epochs"] >= opts.patience:
                print(f"early stopping: no improvement for {opts.patience} epoch(s); "
                      f"best epoch {state['best']['epoch']}", flush=True)
        D.barrier(info)

    summary = {"epochs_run": state["epoch"], "best_epoch": state["best"]["epoch"], "history": state["history"],
               "train_images": len(train_c), "val_images": len(val_c)}
    if info.is_main:
        model.load_state_dict(best_weights)
        summary["model_dir"] = write_model_folder(opts, ds, model, state, train_c, val_c, device)
    D.barrier(info)
    return summary


def _epoch_line(row: dict, improved: bool) -> str:
    parts = [f"epoch {row['epoch']}", f"loss {row['train_loss']:.4f}", f"train AUC {row['train_auc']:.3f}"]
    if "train_gradcam_outside_share" in row:
        parts.append(f"Grad-CAM outside lesions {row['train_gradcam_outside_share']:.2f}, "
                     f"SHAP coalition loss {row['train_shap_coalition_loss']:.3f}")
    if "val_loss" in row:
        parts += [f"val loss {row['val_loss']:.4f}", f"val AUC {row['val_auc']:.3f}"]
    if "val_pointing_gradcam" in row:
        parts.append(f"val pointing Grad-CAM {row['val_pointing_gradcam']:.2f} SHAP {row['val_pointing_shap']:.2f}")
    parts.append(f"{row['images_per_s']:.1f} img/s")
    return " | ".join(parts) + ("  *best*" if improved else "")
