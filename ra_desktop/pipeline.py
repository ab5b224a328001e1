"""One case, start to finish: load -> preprocess -> predict (+OOD) -> explanations.

Pure Python (no Qt). ``analyse`` is a generator so the GUI can show the probability first and each
explanation as it arrives, and can cancel between stages.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ra_desktop import __version__
from ra_desktop.cancel import CancelToken, check
from ra_desktop.errors import Cancelled, RADesktopError
from ra_desktop.io.radiograph import Radiograph
from ra_desktop.results import STAGE_FAILED, CaseResult, StageResult

if TYPE_CHECKING:  # torch stays out of this module's import
    from ra_desktop.model import LoadedModel


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


def _ground_truth(radiograph: Radiograph) -> dict | None:
    """Phantom ground truth beside the image file, if any (real radiographs have none)."""
    if radiograph.source_path is None:
        return None
    try:
        from ra_desktop.phantom import load_ground_truth

        return load_ground_truth(radiograph.source_path)
    except (ImportError, OSError, ValueError):
        return None


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
    from ra_desktop.preprocess import prepare

    timings: dict[str, float] = {}
    check(cancel)
    t0 = time.perf_counter()
    if isinstance(source, Radiograph):
        radiograph = source
        timings["load"] = 0.0
    else:
        from ra_desktop.io import load_radiograph

        radiograph = load_radiograph(Path(source))
        timings["load"] = _ms(t0)
    check(cancel)

    t0 = time.perf_counter()
    x, geometry = prepare(radiograph, model.preprocess_config)
    timings["preprocess"] = _ms(t0)
    check(cancel)

    import ra_desktop.explain as explain

    t0 = time.perf_counter()
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
    ground_truth = _ground_truth(radiograph) if explanations else None
    for method in explanations:
        check(cancel)
        t0 = time.perf_counter()
        try:
            heatmap, regions = explain.explain_case(model, x, geometry, method, cancel=cancel,
                                                    ground_truth=ground_truth)
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


def predict_file(source: str | Path | Radiograph, model: LoadedModel, cancel: CancelToken | None = None) -> CaseResult:
    """Load, preprocess and predict one image (no explanations); returns the :class:`CaseResult`."""
    gen = analyse(source, model, explanations=(), cancel=cancel)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
