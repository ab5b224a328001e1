"""One case, start to finish: load -> preprocess -> predict (+OOD) -> explanations.

Pure Python (no Qt). ``analyse`` is a generator so the GUI can show the probability first and each
explanation as it arrives, and can cancel between stages.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Generator, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ra_desktop import __version__
from ra_desktop.cancel import CancelToken, check
from ra_desktop.errors import Cancelled, RADesktopError
from ra_desktop.io import load_radiograph
from ra_desktop.io.ground_truth import ground_truth_for
from ra_desktop.io.radiograph import Radiograph
from ra_desktop.preprocess import prepare
from ra_desktop.results import STAGE_FAILED, CaseResult, StageResult

if TYPE_CHECKING:  # torch stays out of this module's import
    from ra_desktop.model import LoadedModel

log = logging.getLogger(__name__)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def provenance(model: LoadedModel) -> dict[str, Any]:
    """What produced a result: app and model identity, device, preprocessing."""
    m = model.manifest
    return {
        "app_version": __version__,
        "model_name": m.name,
        "model_version": m.version,
        "model_sha256": m.weights_sha256,
        "model_architecture": m.architecture,
        "device": str(model.device),
        "preprocessing": dict(m.preprocessing),
        "notice": m.notice,
        "analysed_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def analyse(
    source: str | Path | Radiograph,
    model: LoadedModel,
    *,
    explanations: Iterable[str] = ("gradcam", "shap"),
    cancel: CancelToken | None = None,
) -> Generator[StageResult, None, CaseResult]:
    """Analyse one radiograph, yielding a :class:`StageResult` after each stage.

    Parameters
    ----------
    source : path or Radiograph
        A file (loaded with :func:`ra_desktop.io.load_radiograph`) or an already loaded image.
    model : LoadedModel
        From :func:`ra_desktop.model.load_model`; its manifest's preprocessing is used.
    explanations : iterable of str
        Methods to run after the prediction, in order ("gradcam", "shap").
    cancel : CancelToken, optional
        Checked between stages; raises :class:`~ra_desktop.errors.Cancelled`.

    Yields
    ------
    StageResult
        ``"prediction"`` first (probability, label, OOD), then one per explanation method.

    Returns
    -------
    CaseResult
        The final result (also the ``result`` of the last yielded stage).

    Raises
    ------
    ImageLoadError, DataError, Cancelled
        Load, preprocessing or cancellation failures. A failing explanation whose error is an
        :class:`~ra_desktop.errors.RADesktopError` is recorded (status "failed") and the next
        stage runs; the prediction is never lost to an explanation failure.
    """
    timings: dict[str, float] = {}
    check(cancel)
    t0 = time.perf_counter()
    if isinstance(source, Radiograph):
        radiograph = source
        timings["load"] = 0.0
    else:
        radiograph = load_radiograph(Path(source))
        timings["load"] = _ms(t0)
    check(cancel)

    t0 = time.perf_counter()
    x, geometry = prepare(radiograph, model.preprocess_config)
    timings["preprocess"] = _ms(t0)
    check(cancel)

    import ra_desktop.explain as explain  # lazy: torch (the window opens before torch loads)

    t0 = time.perf_counter()
    explanations = tuple(explanations)
    cam = None  # Grad-CAM from the prediction's own pass, placed by the Grad-CAM stage below
    if "gradcam" in explanations:
        # One backbone pass gives the probability, the OOD features and Grad-CAM's activation,
        # so the network does not run a second time for the map.
        pred = explain.predict_batch(model, x[None], gradcam=True, cancel=cancel)
        probability, ood = float(pred.probabilities[0]), pred.ood[0]
        cam = None if pred.gradcam is None else pred.gradcam[0]
    else:
        # One forward pass gives the probability and the OOD layers' features (ood None: no statistics).
        probability, ood = explain.predict_with_ood(model, x)
    timings["inference"] = _ms(t0)

    result = CaseResult(
        radiograph=radiograph,
        geometry=geometry,
        probability=probability,
        label=model.label_for(probability),
        threshold=model.threshold,
        ood=ood,
        timings_ms=dict(timings),
        provenance=provenance(model),
        model_input=x,
    )
    yield StageResult("prediction", result, timings["inference"])

    # Phantoms carry their joint positions: regions are then named joints (MCP2, wrist...),
    # otherwise the explain package falls back to neutral grid cells.
    ground_truth = ground_truth_for(radiograph.source_path) if explanations else None
    for method in explanations:
        check(cancel)
        t0 = time.perf_counter()
        try:
            heatmap, regions = explain.explain_case(model, x, geometry, method, cancel=cancel,
                                                    ground_truth=ground_truth,
                                                    values=cam if method == "gradcam" else None)
        except Cancelled:
            raise
        except RADesktopError as exc:
            elapsed = _ms(t0)
            result = dataclasses.replace(
                result,
                notes=(*result.notes, f"{method}: failed: {exc}"),
                timings_ms={**result.timings_ms, method: elapsed},
            )
            yield StageResult(method, result, elapsed, STAGE_FAILED, str(exc))
            continue
        elapsed = _ms(t0)
        result = dataclasses.replace(
            result,
            heatmaps={**result.heatmaps, method: heatmap},
            # Regions: the first method that provides them (Grad-CAM runs first, SHAP refines later
            # only if Grad-CAM gave none).
            regions=result.regions or regions,
            timings_ms={**result.timings_ms, method: elapsed},
        )
        yield StageResult(method, result, elapsed)
    return result


def drain(stages: Generator[StageResult, None, CaseResult],
          each: Callable[[StageResult], None] | None = None) -> CaseResult:
    """Run an :func:`analyse` generator to its end, calling ``each`` on every stage as it comes
    (an exception there stops it); returns the final :class:`CaseResult`."""
    while True:
        try:
            stage = next(stages)
        except StopIteration as stop:
            return stop.value
        if each is not None:
            each(stage)


def predict_file(source: str | Path | Radiograph, model: LoadedModel, cancel: CancelToken | None = None) -> CaseResult:
    """Load, preprocess and predict one image (no explanations); returns the :class:`CaseResult`."""
    return drain(analyse(source, model, explanations=(), cancel=cancel))


# -- many cases: the batch path ("Analyse all", benchmarks) -------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class PreparedCase:
    """A decoded and preprocessed study, ready for the network."""

    radiograph: Radiograph
    x: Any  # float32 (3, 224, 224)
    geometry: Any
    timings_ms: dict[str, float]


def prepare_case(source: str | Path | Radiograph, model: LoadedModel) -> PreparedCase:
    """Load (unless given a Radiograph) and preprocess one study; raises like :func:`analyse`."""
    t0 = time.perf_counter()
    if isinstance(source, Radiograph):
        radiograph, load_ms = source, 0.0
    else:
        radiograph = load_radiograph(Path(source))
        load_ms = _ms(t0)
    t0 = time.perf_counter()
    x, geometry = prepare(radiograph, model.preprocess_config)
    return PreparedCase(radiograph, x, geometry, {"load": load_ms, "preprocess": _ms(t0)})


def analyse_prepared(
    cases: list[PreparedCase],
    model: LoadedModel,
    *,
    explanations: Iterable[str] = ("gradcam",),
    cancel: CancelToken | None = None,
) -> Generator[CaseResult, None, None]:
    """Analyse several prepared studies with one batched network pass; yields each
    :class:`CaseResult` in order as soon as its maps are placed.

    Results equal :func:`analyse` for each case (up to float rounding of batched convolutions):
    probability, OOD, Grad-CAM from :func:`ra_desktop.explain.predict_batch`, other methods per case
    through ``explain.explain_case``. A failing explanation is recorded in the case's notes, as in
    :func:`analyse`. ``timings_ms["inference"]`` is the case's share of the batched pass.
    """
    import ra_desktop.explain as explain  # lazy: torch (the window opens before torch loads)

    explanations = tuple(explanations)
    if not cases:
        return
    check(cancel)
    t0 = time.perf_counter()
    pred = explain.predict_batch(model, np.stack([c.x for c in cases]), gradcam="gradcam" in explanations,
                                 cancel=cancel)
    share = _ms(t0) / len(cases)
    for i, case in enumerate(cases):
        check(cancel)
        probability = float(pred.probabilities[i])
        result = CaseResult(
            radiograph=case.radiograph, geometry=case.geometry, probability=probability,
            label=model.label_for(probability), threshold=model.threshold, ood=pred.ood[i],
            timings_ms={**case.timings_ms, "inference": share}, provenance=provenance(model),
            model_input=case.x,
        )
        ground_truth = ground_truth_for(case.radiograph.source_path) if explanations else None
        for method in explanations:
            check(cancel)
            t0 = time.perf_counter()
            try:
                cam = pred.gradcam[i] if method == "gradcam" and pred.gradcam is not None else None
                heatmap, regions = explain.explain_case(model, case.x, case.geometry, method, cancel=cancel,
                                                        ground_truth=ground_truth, values=cam)
            except Cancelled:
                raise
            except RADesktopError as exc:
                result = dataclasses.replace(result, notes=(*result.notes, f"{method}: failed: {exc}"),
                                             timings_ms={**result.timings_ms, method: _ms(t0)})
                continue
            result = dataclasses.replace(
                result, heatmaps={**result.heatmaps, method: heatmap}, regions=result.regions or regions,
                timings_ms={**result.timings_ms, method: _ms(t0)},
            )
        yield result


def analyse_many(
    sources: Iterable[str | Path | Radiograph],
    model: LoadedModel,
    *,
    explanations: Iterable[str] = ("gradcam",),
    batch_size: int = 4,  # the window's group (worker.schedule.GROUP): why 4 is said there
    cancel: CancelToken | None = None,
) -> Generator[tuple[int, CaseResult | Exception], None, None]:
    """Analyse many studies: ``(index, CaseResult or the exception that failed it)`` in order.

    Decoding and preprocessing of the next group run on a background thread while the network
    works on the current one (numpy, PIL, pydicom and torch release the GIL). One unreadable
    file fails only its own entry.
    """
    from concurrent.futures import ThreadPoolExecutor

    explanations = tuple(explanations)
    items = list(sources)
    groups = [list(range(i, min(i + batch_size, len(items)))) for i in range(0, len(items), batch_size)]

    def load(group: list[int]) -> list[PreparedCase | Exception]:
        out: list[PreparedCase | Exception] = []
        for i in group:
            try:
                out.append(prepare_case(items[i], model))
            except Exception as exc:  # noqa: BLE001 - reported per file, the batch goes on
                out.append(exc)
        return out

    with ThreadPoolExecutor(1, thread_name_prefix="ra-prefetch") as pool:
        pending = pool.submit(load, groups[0]) if groups else None
        for g, group in enumerate(groups):
            check(cancel)
            prepared = pending.result()
            pending = pool.submit(load, groups[g + 1]) if g + 1 < len(groups) else None
            # Yielded one at a time (not collected per group): each result holds full-size maps.
            for k, outcome in analyse_group(prepared, model, explanations=explanations, cancel=cancel):
                yield group[k], outcome


def analyse_group(
    cases: list[PreparedCase | Exception],
    model: LoadedModel,
    *,
    explanations: Iterable[str] = ("gradcam",),
    cancel: CancelToken | None = None,
    case_cancel: list[CancelToken] | None = None,
) -> Generator[tuple[int, CaseResult | Exception], None, None]:
    """One group of a batch, the algorithm both :func:`analyse_many` and the GUI's inference lane
    run: ``(position, CaseResult or the exception that failed it)`` in order, each as soon as its
    maps are placed.

    One batched network pass (:func:`analyse_prepared`) over the prepared entries; an entry that is
    already an exception (it failed to load) is yielded as it is. If the batched pass fails (other
    than a cancel) the cases not yet yielded run one at a time, so one bad case fails only itself.
    A cancel of the batched pass (``cancel``) raises :class:`~ra_desktop.errors.Cancelled`. In the
    one-at-a-time fallback each case checks its own token, ``case_cancel[position]``, where given,
    and its cancel is then yielded as its outcome (the others go on); without it, it raises.
    """
    explanations = tuple(explanations)
    good = [p for p in cases if isinstance(p, PreparedCase)]
    results = analyse_prepared(good, model, explanations=explanations, cancel=cancel)
    batched = True
    for k, p in enumerate(cases):
        if not isinstance(p, PreparedCase):
            yield k, p
            continue
        if batched:
            try:
                result = next(results)
            except Cancelled:
                raise
            except Exception:  # noqa: BLE001 - the batched pass failed: one by one from here
                log.warning("batched analysis failed; analysing one by one", exc_info=True)
                batched = False
            else:
                yield k, result
                continue
        own = case_cancel[k] if case_cancel is not None else cancel
        try:
            outcome: CaseResult | Exception = next(analyse_prepared([p], model, explanations=explanations,
                                                                    cancel=own))
        except Cancelled as exc:
            if case_cancel is None:
                raise
            outcome = exc
        except Exception as exc:  # noqa: BLE001 - reported per case, the batch goes on
            outcome = exc
        yield k, outcome
