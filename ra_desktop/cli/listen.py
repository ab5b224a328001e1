"""``ra-desktop listen --aet AE --port PORT [--allow AE ...] [--analyse]``: the DICOM receiver, headless.

For a clinic's service account: images pushed by a modality or a PACS are stored in the user data
folder (``received/``) and added to the same worklist the app shows. Each association is logged
(calling AE title, peer address, counts; never patient data). SIGTERM or Ctrl+C stops it cleanly:
the port closes at once, associations in progress may finish, and an instance being written is
never lost. ``--analyse`` runs the bundled model (or ``--model DIR``) on each new image in one
background thread, saving results exactly as the app does; an image out of the model's
distribution gets no verdict.

Exit status: 0 stopped cleanly, 1 could not start (port taken, bad AE title, no model for
``--analyse``).
"""
from __future__ import annotations

import argparse
import logging
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ra_desktop import audit, paths
from ra_desktop.errors import ModelUnavailable, RADesktopError
from ra_desktop.logsafe import RedactPaths
from ra_desktop.results import NO_VERDICT, ood_no_verdict, probability_texts
from ra_desktop.settings import load_settings
from ra_desktop.worklist import ANALYSING, FAILED, NEW, QUEUED, WorklistStore, result_fields

log = logging.getLogger("ra_desktop.cli.listen")

_STOP = object()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``listen`` options (defaults from the settings)."""
    parser.add_argument("--aet", metavar="AE", default=None,
                        help="our AE title (default: the one in Settings, RADESKTOP)")
    parser.add_argument("--port", type=int, default=None,
                        help="TCP port to listen on (default: the one in Settings, 11112)")
    parser.add_argument("--host", default="",
                        help="interface to listen on (default: all; 127.0.0.1 = this computer only)")
    parser.add_argument("--allow", metavar="AE", nargs="+", action="extend", default=None,
                        help="calling AE titles allowed to send (default: Settings' allow-list; "
                             "empty = any caller)")
    parser.add_argument("--analyse", "--analyze", dest="analyse", action="store_true",
                        help="analyse each new image with the model as it arrives")
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model folder for --analyse (default: the bundled model)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where --analyse runs the model (default: auto)")
    parser.add_argument("--grace", type=float, default=30.0, metavar="S",
                        help="seconds open associations may finish after a stop request (default 30)")


class Analyser(threading.Thread):
    """One background thread: analyses received rows in arrival order, so receiving never waits."""

    def __init__(self, store: Any, model_dir: Path, device: str, reader: str) -> None:
        super().__init__(name="listen-analyse", daemon=True)
        self.store, self.model_dir, self.device, self.reader = store, model_dir, device, reader
        self.jobs: queue.Queue = queue.Queue()
        self.model: Any = None
        self.analysed = 0

    def load(self) -> None:
        # lazy: torch, pydicom load when the command runs, not for --help
        from ra_desktop.model import load_model

        self.model = load_model(self.model_dir, self.device)  # ModelUnavailable: caller reports

    def submit(self, row_id: int) -> None:
        self.store.set_status(row_id, QUEUED)
        self.jobs.put(row_id)

    def finish(self) -> None:
        """Stop after the image being analysed; rows still waiting go back to new (with a note)."""
        left = []
        while True:
            try:
                item = self.jobs.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                left.append(item)
        self.jobs.put(_STOP)
        self.join()
        if left:
            self.store.set_status(left, NEW, "received while the listener stopped: not analysed yet")
            print(f"{len(left)} received image(s) left for analysis in the app", flush=True)
        self.store.close()

    def run(self) -> None:
        while (row_id := self.jobs.get()) is not _STOP:
            try:
                self._one(row_id)
            except Exception:  # noqa: BLE001 - one image must not stop the others
                log.exception("analysing a received image failed")
        self.store.close()

    def _one(self, row_id: int) -> None:
        # lazy: pydicom loads when the command runs, not for --help
        from ra_desktop.pipeline import predict_file

        row = self.store.get(row_id)
        if row is None:
            return
        self.store.set_status(row_id, ANALYSING)
        try:
            result = predict_file(row.path, self.model)
        except (RADesktopError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            self.store.set_status(row_id, FAILED, reason)
            print(f"{row.case_id}: analysis FAILED: {reason}", flush=True)
            return
        fields = result_fields(result, model_sha=self.model.manifest.weights_sha256)
        self.store.save_result(row_id, fields)  # what the app's _on_result saves
        model = " ".join(str(v) for v in (fields["model_name"], fields["model_version"]) if v)
        audit.record(audit.ANALYSED, row.case_id, reader=self.reader, source="cli listen",
                     model=model or None, model_sha256=fields["model_sha"])
        self.analysed += 1
        reason = ood_no_verdict(result.ood)
        if reason is not None:
            print(f"{row.case_id}: {NO_VERDICT}: {reason}", flush=True)
        else:
            p, t = probability_texts(float(result.probability), float(result.threshold), decimals=3)
            print(f"{row.case_id}: P(RA)={p} -> {result.label} (threshold {t})", flush=True)


def run(args: argparse.Namespace) -> int:
    # lazy: pydicom loads when the command runs, not for --help
    from ra_desktop.dicomnet.inbox import Received
    from ra_desktop.dicomnet.listener import StoreListener

    _log_to_stderr()
    settings = load_settings()
    aet = args.aet or settings.dicom_ae_title
    port = settings.dicom_port if args.port is None else args.port
    allowed = tuple(settings.dicom_allowed_callers if args.allow is None else args.allow)
    store = WorklistStore()

    analyser = None
    if args.analyse:
        model_dir = Path(args.model) if args.model else paths.default_model_dir()
        analyser = Analyser(WorklistStore(store.path), model_dir, args.device, settings.reader_name)
        try:
            analyser.load()
        except ModelUnavailable as exc:
            print(f"error: --analyse: {exc}", file=sys.stderr)
            return 1
        print(f"model: {analyser.model.display_name} on {analyser.model.device}; "
              f"{analyser.model.manifest.notice}", flush=True)
        analyser.start()

    def on_received(r: Received) -> None:  # association thread: print and queue, nothing more
        if not r.ok:
            print(f"refused an instance from {r.calling_ae or '-'}: {r.reason}", flush=True)
            return
        what = "duplicate (already stored)" if r.duplicate else "stored"
        print(f"{r.sop_instance_uid}: {what} from {r.calling_ae or '-'}", flush=True)
        if analyser is not None and r.row_id is not None:
            analyser.submit(r.row_id)

    try:
        listener = StoreListener(aet, port, host=args.host, allowed_callers=allowed, worklist=store,
                                 on_received=on_received)
        listener.start()
    except (ValueError, OSError) as exc:
        print(f"error: cannot listen on port {port}: {exc}", file=sys.stderr)
        if analyser is not None:
            analyser.finish()
        return 1

    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"listening as {listener.ae_title} on port {listener.port}"
          f" (callers: {', '.join(allowed) or 'any'}); stop with Ctrl+C or SIGTERM", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        print("stopping: finishing transfers in progress", flush=True)
        listener.stop(grace_s=args.grace)
        if analyser is not None:
            analyser.finish()
        for s, h in previous.items():
            signal.signal(s, h)
        t = listener.totals
        print(f"stopped: {t['associations']} associations, {t['stored']} stored, {t['duplicates']} duplicates, "
              f"{t['failed']} refused, {t['rejected']} callers rejected", flush=True)
    return 0


def _log_to_stderr() -> None:
    """Association lines on stderr (and in the log file when the app configured one); pynetdicom's
    own chatter only from warnings up."""
    root = logging.getLogger("ra_desktop")
    if not any(getattr(h, "_ra_listen", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.addFilter(RedactPaths())
        handler._ra_listen = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
