"""A learner's quiz sessions kept on this computer, and their CSV export. No Qt.

One JSON file per session in ``<data dir>/quiz-results`` (the app's private data folder), written
through a temporary file and renamed, so a crash leaves the old file or the new one; saving a
session again replaces its own file only. Each answered case keeps the learner's sheet and the
phantom's truth, so feedback, statistics, CSV and PDF need no phantom rendered again. Reading the
folder skips a damaged file (and says which and why) and never changes or loses any file.

The CSV has one row per case × area (31 per case): what a teacher sorts and filters to see which
areas a class finds hard. Its text cells are spreadsheet-safe (:func:`ra_desktop.textsafe.csv_cell`).
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ra_desktop.errors import DataError
from ra_desktop.scoring.svdh import EROSION, NOT_ASSESSABLE, area, check_score
from ra_desktop.teaching.deck import CaseSpec, Deck, deck_from_dict, deck_to_dict, spec_from_dict, spec_to_dict
from ra_desktop.teaching.quiz import CaseFeedback, SessionStats, case_feedback, session_stats
from ra_desktop.textsafe import clean, csv_cell, shorten

RESULTS_FORMAT = "ra-desktop quiz session"
RESULTS_VERSION = 1
FOLDER = "quiz-results"
MAX_LEARNER = 80

ScoreKey = tuple[str, str, str]


class ResultsFileError(DataError):
    """A session file cannot be read: names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"quiz results {self.path}: {reason}")


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CaseAnswer:
    """One answered case: its place in the deck (1-based), spec, the learner's sheet and the truth."""

    number: int
    spec: CaseSpec
    scores: dict[ScoreKey, int | str]
    truth: dict[ScoreKey, int | str]
    answered_at: str = field(default_factory=now_utc)

    def feedback(self) -> CaseFeedback:
        return case_feedback(self.scores, self.truth)


@dataclass
class SessionResult:
    """One learner's pass through one deck (all of it or part)."""

    learner: str
    deck: Deck
    started: str = field(default_factory=now_utc)
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    answers: list[CaseAnswer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.learner = shorten(clean(self.learner).strip(), MAX_LEARNER) or "anonymous"

    def answer(self, number: int, spec: CaseSpec, scores: dict, truth: dict) -> CaseAnswer:
        """Record (or replace) the answer to case ``number``."""
        self.answers = [a for a in self.answers if a.number != number]
        ans = CaseAnswer(number, spec, dict(scores), dict(truth))
        self.answers.append(ans)
        self.answers.sort(key=lambda a: a.number)
        return ans

    def stats(self) -> SessionStats:
        return session_stats(a.feedback() for a in self.answers)

    @property
    def file_name(self) -> str:
        stamp = re.sub(r"[^0-9T]", "", self.started)[:15]
        who = re.sub(r"[^A-Za-z0-9_-]+", "-", self.learner).strip("-")[:32] or "learner"
        return f"quiz_{stamp}_{who}_{self.session_id}.json"


# ---- JSON ----------------------------------------------------------------------------------------
def _sheet_out(scores: dict) -> list:
    return [[h, k, s, v] for (h, k, s), v in sorted(scores.items())]


def _sheet_in(rows) -> dict:
    if not isinstance(rows, list):
        raise ValueError("a sheet must be a list of [hand, kind, site, score]")
    out = {}
    for row in rows:
        if not (isinstance(row, list) and len(row) == 4):
            raise ValueError(f"bad score row {row!r}")
        h, k, s, v = row
        out[(h, k, s)] = check_score(area(h, k, s), v)
    return out


def session_to_dict(result: SessionResult) -> dict:
    return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, "learner": result.learner,
            "session_id": result.session_id, "started": result.started, "saved": now_utc(),
            "deck": deck_to_dict(result.deck),
            "answers": [{"number": a.number, "answered_at": a.answered_at, "spec": spec_to_dict(a.spec),
                "scores": _sheet_out(a.scores), "truth": _sheet_out(a.truth)} for a in result.answers],
            "stats": result.stats().__dict__}


def session_from_dict(data, path: str | Path = "<session>") -> SessionResult:
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise ResultsFileError(path, f"not a quiz session (no \"format\": \"{RESULTS_FORMAT}\")")
    if data.get("version") != RESULTS_VERSION:
        raise ResultsFileError(path, f"session format version {data.get('version')!r}; this RA Desktop reads "
                                     f"version {RESULTS_VERSION}")
    deck = deck_from_dict(data.get("deck"), path)
    try:
        if not isinstance(data.get("learner"), str) or not isinstance(data.get("started"), str):
            raise ValueError("\"learner\" and \"started\" must be texts")
        result = SessionResult(data["learner"], deck, data["started"], str(data.get("session_id", "")))
        for a in data.get("answers") or []:
            spec = spec_from_dict(a["spec"], a.get("number"))
            truth = _sheet_in(a["truth"])
            if len({k[0] for k in truth}) != 1:
                raise ValueError(f"case {a.get('number')}: the truth must cover one hand")
            result.answers.append(CaseAnswer(int(a["number"]), spec, _sheet_in(a["scores"]), truth,
                                             str(a.get("answered_at", ""))))
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsFileError(path, f"damaged content: {exc}") from None
    return result


# ---- the folder ------------------------------------------------------------------------------------
def results_dir() -> Path:
    from ra_desktop.paths import private_dir, user_data_dir

    return private_dir(user_data_dir() / FOLDER)


def save_session(result: SessionResult, folder: str | Path | None = None) -> Path:
    """Write ``result`` to its own file in ``folder`` (default :func:`results_dir`); returns the path."""
    folder = Path(folder) if folder is not None else results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / result.file_name
    data = json.dumps(session_to_dict(result), indent=1).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".quiz.", suffix=".part", dir=folder)  # 0600: a learner's results
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_session(path: str | Path) -> SessionResult:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(path, f"not valid JSON (truncated or damaged?): {exc}") from None
    except OSError as exc:
        raise ResultsFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    return session_from_dict(data, path)


def load_sessions(folder: str | Path | None = None) -> tuple[list[SessionResult], list[DataError]]:
    """Every session in ``folder``, oldest first, and one error per file that could not be read."""
    folder = Path(folder) if folder is not None else results_dir()
    sessions, problems = [], []
    for path in sorted(folder.glob("quiz_*.json")):
        try:
            sessions.append(load_session(path))
        except DataError as exc:
            problems.append(exc)
    return sessions, problems


# ---- CSV -------------------------------------------------------------------------------------------
CSV_COLUMNS = ("learner", "session", "deck", "case", "phantom", "hand", "kind", "area", "learner_score",
               "truth", "verdict", "case_total_learner", "case_total_truth")


def _cell(value) -> str:
    return "" if value is None else ("NA" if value == NOT_ASSESSABLE else str(value))


def session_csv(result: SessionResult) -> str:
    """The CSV text: one row per answered case × area of its hand."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for a in result.answers:
        fb = a.feedback()
        phantom = f"seed {a.spec.seed} #{a.spec.index} {a.spec.side}"
        for row in fb.areas:
            w.writerow([csv_cell(result.learner), result.session_id, csv_cell(result.deck.name), a.number, phantom,
                        row.area.hand, "erosion" if row.area.kind == EROSION else "jsn", row.area.label,
                        _cell(row.learner), _cell(row.truth), row.verdict, fb.learner_total, fb.truth_total])
    return out.getvalue()


def write_csv(result: SessionResult, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(session_csv(result), encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = ["CSV_COLUMNS", "CaseAnswer", "ResultsFileError", "SessionResult", "load_session", "load_sessions",
           "results_dir", "save_session", "session_csv", "write_csv"]
