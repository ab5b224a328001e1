"""Sharp/van der Heijde scores as CSV, one row per area, for trials and reader studies. No Qt.

Columns: ``case_id, reader, hand, kind, site, area, score, scored_at_utc, marker_x, marker_y``.

* ``hand`` R/L, ``kind`` erosion/jsn and ``site`` name the area (:mod:`ra_desktop.scoring.svdh`);
  ``area`` is its label for people (ignored on reading: the three key columns decide).
* ``score``: an integer in the area's range (erosion 0-5, narrowing 0-4), ``NA`` when the area is
  not assessable, empty when it was not scored. Every area of the written hands has a row, so a
  missing score is visible as an empty cell rather than a missing line.
* ``scored_at_utc``: when the score was set, ISO 8601 in UTC to the second (``2025-03-01T12:00:05Z``),
  or empty.
* ``marker_x, marker_y``: where the reader's marker of the row's (hand, site) is on the image, in
  image pixels (x right, y down) to 0.01 px, on every row of that site (erosion and narrowing rows of
  one joint carry the same position), both empty when the site has no marker. Optional: written
  when a reading carries markers (``{}`` included), left out when none does (``None``, e.g. the
  truth and batch writers); a file without them (also one written before) reads as before, its
  readings' ``markers`` ``None``.

Written as UTF-8 with a byte-order mark (spreadsheet programs then show accents and dashes),
every text cell through :func:`ra_desktop.textsafe.csv_cell`: reader names are typed by users and
case ids come from image files, so a cell that would start a formula (``= + - @``) gets a leading
``'``. So that the quote can be taken off again, a value that itself starts with ``'`` gets one
more; the reader strips exactly one leading ``'`` from every cell, which makes a round trip exact
(for text without control characters, which are removed on writing).

Reading (:func:`read_scores_csv`) checks every row and stops at the first bad one with a
:class:`ScoresFileError` naming the file, the line and the reason.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable, Mapping

from ra_desktop.errors import DataError
from ra_desktop.scoring.svdh import HANDS, KINDS, NOT_ASSESSABLE, area, check_score, hand_areas
from ra_desktop.textsafe import CSV_QUOTE, clean, csv_cell

Score = int | str  # 0..max or NOT_ASSESSABLE
ScoreKey = tuple[str, str, str]  # (hand, kind, site)

#: The columns every scores file has; the writer adds :data:`MARKER_COLUMNS` after them.
COLUMNS = ("case_id", "reader", "hand", "kind", "site", "area", "score", "scored_at_utc")
MARKER_COLUMNS = ("marker_x", "marker_y")
MarkerKey = tuple[str, str]  # (hand, site)
#: A scores file larger than this is refused before reading (two hands of 31 areas, a thousand
#: readings, are about 5 MB).
MAX_FILE_BYTES = 64 * 1024 * 1024
_INTEGER = re.compile(r"[+-]?[0-9]+")


class ScoresFileError(DataError):
    """A scores CSV cannot be used as given: names the file, the line (when known) and why."""

    def __init__(self, path: str | Path, line: int | None, reason: str):
        self.path = Path(path) if not isinstance(path, Path) else path
        self.line = line
        self.reason = reason
        where = f"{path}, line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Reading:
    """One reader's scores of one case, as read from (or to be written to) a scores file.

    ``scores`` holds the scored areas only (an unscored area has no entry); ``hands`` the hands
    the file has rows for (written: the hands to write, all areas of each); ``scored_at`` the
    time of each score that has one (seconds since the epoch, UTC); ``markers`` the position of
    each marked site in image pixels, ``None`` when read from a file without marker columns (which
    says nothing about markers, unlike ``{}``: none placed).
    """

    case_id: str
    reader: str
    scores: dict[ScoreKey, Score]
    hands: tuple[str, ...] = ()
    scored_at: dict[ScoreKey, float] = field(default_factory=dict)
    markers: dict[MarkerKey, tuple[float, float]] | None = None


# ---- writing -------------------------------------------------------------------------------------
def _cell(value: object) -> str:
    """``csv_cell``, plus one more ``'`` on a value that starts with one, so reading can undo it."""
    s = csv_cell(value)
    return CSV_QUOTE + s if s == clean(value) and s.startswith(CSV_QUOTE) else s


def _utc(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(float(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _coordinate(value: float, name: str) -> float:
    """A marker coordinate as stored: a finite, non-negative number (-0.0 made 0.0)."""
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} {value!r}: image pixels are finite and not negative")
    return value + 0.0


def _check_markers(reading: Reading) -> None:
    hands = reading.hands or HANDS
    sites = {(a.hand, a.site) for h in hands for a in hand_areas(h)}
    for key, (x, y) in (reading.markers or {}).items():
        if key not in sites:
            raise ValueError(f"{reading.reader!r} has a marker at {key}, not a site of the hands written {hands}")
        _coordinate(x, "marker_x"), _coordinate(y, "marker_y")


def _rows(reading: Reading, with_markers: bool) -> Iterable[list[str]]:
    markers = reading.markers or {}
    for hand in reading.hands or HANDS:
        for a in hand_areas(hand):
            value = reading.scores.get(a.key)
            check_score(a, value)
            score = "" if value is None else (NOT_ASSESSABLE if value == NOT_ASSESSABLE else str(int(value)))
            xy = markers.get((a.hand, a.site))
            where = [] if not with_markers else ["", ""] if xy is None else \
                [f"{_coordinate(v, 'marker'):.2f}" for v in xy]
            yield [_cell(reading.case_id), _cell(reading.reader), a.hand, a.kind, a.site, _cell(a.label),
                   score, _utc(reading.scored_at.get(a.key)) if value is not None else "", *where]


def scores_csv(readings: Iterable[Reading]) -> bytes:
    """The CSV bytes (UTF-8 with BOM) of ``readings``, every area of each reading's hands; the
    marker columns when any reading has ``markers``."""
    readings = list(readings)
    with_markers = any(r.markers is not None for r in readings)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS + (MARKER_COLUMNS if with_markers else ()))
    for r in readings:
        unknown = [h for h in r.hands if h not in HANDS]
        if unknown:
            raise ValueError(f"hands must be among {HANDS}, got {unknown}")
        extra = [k for k in r.scores if k[0] not in (r.hands or HANDS)]
        if extra:
            raise ValueError(f"{r.reader!r} scored areas of a hand not written: {extra[:3]}")
        _check_markers(r)  # before any row: a bad marker writes nothing
        w.writerows(_rows(r, with_markers))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _write(path_or_file: str | os.PathLike | IO, data: bytes) -> None:
    if isinstance(path_or_file, (str, os.PathLike)):
        Path(path_or_file).write_bytes(data)
    elif isinstance(path_or_file, io.TextIOBase):
        path_or_file.write(data.decode("utf-8"))
    else:
        path_or_file.write(data)


def write_scores_csv(path_or_file: str | os.PathLike | IO, case_id: str,
                     sheets: Mapping[str, Mapping[ScoreKey, Score]],
                     scored_at: Mapping[str, Mapping[ScoreKey, float]] | None = None,
                     hands: tuple[str, ...] = HANDS,
                     markers: Mapping[str, Mapping[MarkerKey, tuple[float, float]]] | None = None) -> None:
    """Write one case's score sheets, one row per area of ``hands`` for each reader.

    Parameters
    ----------
    path_or_file : path, or a binary or text file object
    case_id : str
    sheets : dict
        reader -> {(hand, kind, site): score}; unscored areas are written with an empty score.
    scored_at : dict, optional
        reader -> {(hand, kind, site): seconds since the epoch} (``ScoreBook.scored_at``).
    hands : tuple of {"R", "L"}
    markers : dict, optional
        reader -> {(hand, site): (x, y)} in image pixels, written to 0.01 px; without it the file
        has no marker columns.
    """
    scored_at = scored_at or {}
    _write(path_or_file, scores_csv(
        Reading(case_id, reader, dict(sheet), tuple(hands), dict(scored_at.get(reader) or {}),
                None if markers is None else dict(markers.get(reader) or {}))
        for reader, sheet in sheets.items()))


def write_readings_csv(path_or_file: str | os.PathLike | IO, readings: Iterable[Reading]) -> None:
    """Write several cases' readings into one file (each with the areas of its ``hands``)."""
    _write(path_or_file, scores_csv(readings))


# ---- reading -------------------------------------------------------------------------------------
def _uncell(text: str) -> str:
    return text[1:] if text.startswith(CSV_QUOTE) else text


def _parse_time(text: str) -> float | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)  # the column is UTC by name
    return t.timestamp()


def _parse_score(text: str, a) -> Score | None:
    text = text.strip()
    if text == "":
        return None
    if text.upper() == NOT_ASSESSABLE:
        return NOT_ASSESSABLE
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"score {text!r} is not a whole number or {NOT_ASSESSABLE} ({a.describe()})")
    value = int(text)
    if not 0 <= value <= a.max:
        raise ValueError(f"score {value} out of range for {a.describe()}")
    return check_score(a, value)


def _parse_marker(x_text: str, y_text: str) -> tuple[float, float] | None:
    x_text, y_text = x_text.strip(), y_text.strip()
    if not x_text and not y_text:
        return None
    if not x_text or not y_text:
        raise ValueError(f"marker_{'x' if not x_text else 'y'} is empty but marker_{'y' if not x_text else 'x'} "
                         "is not: a marker needs both")
    out = []
    for name, text in (("marker_x", x_text), ("marker_y", y_text)):
        try:
            value = float(text) if "_" not in text else None  # float() takes "1_0"
        except ValueError:
            value = None
        if value is None:
            raise ValueError(f"{name} {text!r} is not a number")
        if not math.isfinite(value):
            raise ValueError(f"{name} {text!r} is not finite")
        if value < 0:
            raise ValueError(f"{name} {text!r} is negative (image pixels)")
        out.append(value + 0.0)
    return out[0], out[1]


def read_scores_csv(path: str | os.PathLike) -> list[Reading]:
    """The readings in a scores CSV, in the order their first row appears.

    Raises
    ------
    ScoresFileError
        Unreadable or too large file, not UTF-8, missing column, an unknown area, a score out of
        range for its kind, a duplicate area for the same reader and case, a bad time, a marker
        coordinate that is not a finite non-negative number or given alone, two rows of one site
        with different markers: the first such row, by line number (the header is line 1).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ScoresFileError(path, None, "not a regular file")
        if size > MAX_FILE_BYTES:
            raise ScoresFileError(path, None, f"{size} bytes, more than a scores file's {MAX_FILE_BYTES}")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ScoresFileError(path, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScoresFileError(path, None, f"not UTF-8 text (byte {exc.start})") from None

    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
    except csv.Error as exc:
        raise ScoresFileError(path, 1, f"not a CSV file: {exc}") from None
    if not header:
        raise ScoresFileError(path, 1, "empty file: no header row")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ScoresFileError(path, 1, f"missing column{'s' if len(missing) > 1 else ''} "
                                       f"{', '.join(missing)} (a scores file has {', '.join(COLUMNS)})")
    dup = sorted({h for h in header if header.count(h) > 1 and h in COLUMNS + MARKER_COLUMNS})
    if dup:
        raise ScoresFileError(path, 1, f"column {', '.join(dup)} appears twice")
    has_markers = [c in header for c in MARKER_COLUMNS]
    if any(has_markers) and not all(has_markers):
        raise ScoresFileError(path, 1, f"column {MARKER_COLUMNS[has_markers.index(True)]} without "
                                       f"{MARKER_COLUMNS[has_markers.index(False)]}")
    has_markers = all(has_markers)
    col = {c: header.index(c) for c in COLUMNS + (MARKER_COLUMNS if has_markers else ())}

    readings: dict[tuple[str, str], Reading] = {}
    seen: dict[tuple[str, str, ScoreKey], int] = {}
    marked: dict[tuple[str, str, MarkerKey], tuple[int, tuple[float, float] | None]] = {}  # first row of a site
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ScoresFileError(path, rows.line_num, f"not valid CSV: {exc}") from None
        line = rows.line_num
        if not row or all(not c.strip() for c in row):
            continue  # blank line
        if len(row) != len(header):
            raise ScoresFileError(path, line, f"{len(row)} cells for {len(header)} columns")
        cell = {c: row[i] for c, i in col.items()}
        case_id, reader = _uncell(cell["case_id"]), _uncell(cell["reader"])
        if not case_id.strip() or not reader.strip():
            raise ScoresFileError(path, line, "empty " + ("case_id" if not case_id.strip() else "reader"))
        hand, kind, site = (_uncell(cell[c]).strip() for c in ("hand", "kind", "site"))
        try:
            if hand not in HANDS or kind not in KINDS:
                raise ValueError(f"no Sharp/van der Heijde {kind} area {site!r} for hand {hand!r} "
                                 f"(hand R or L, kind {' or '.join(KINDS)})")
            a = area(hand, kind, site)
        except ValueError as exc:
            raise ScoresFileError(path, line, f"unknown area: {exc}") from None
        try:
            value = _parse_score(_uncell(cell["score"]), a)
        except ValueError as exc:
            raise ScoresFileError(path, line, str(exc)) from None
        try:
            when = _parse_time(_uncell(cell["scored_at_utc"]).strip())
        except ValueError:
            raise ScoresFileError(path, line, f"scored_at_utc {cell['scored_at_utc']!r} is not an ISO 8601 "
                                              "time (e.g. 2025-03-01T12:00:05Z)") from None
        key = (case_id, reader, a.key)
        if key in seen:
            raise ScoresFileError(path, line, f"duplicate area: {a.describe()} for reader {reader!r} and case "
                                              f"{case_id!r} already on line {seen[key]}")
        seen[key] = line
        xy = None
        if has_markers:
            try:
                xy = _parse_marker(_uncell(cell["marker_x"]), _uncell(cell["marker_y"]))
            except ValueError as exc:
                raise ScoresFileError(path, line, f"{exc} ({hand} {site})") from None
            first = marked.setdefault((case_id, reader, (hand, site)), (line, xy))
            if first[1] != xy:
                said = "no marker" if first[1] is None else "marker ({:g}, {:g})".format(*first[1])
                raise ScoresFileError(path, line, f"marker of {hand} {site} differs from line {first[0]}, which "
                                                  f"gives {said} for the same reader and case")
        r = readings.get((case_id, reader))
        if r is None:
            r = readings[(case_id, reader)] = Reading(case_id, reader, {}, (), markers={} if has_markers else None)
        if hand not in r.hands:
            r = readings[(case_id, reader)] = Reading(case_id, reader, r.scores, r.hands + (hand,), r.scored_at,
                                                      r.markers)
        if xy is not None:
            r.markers[(hand, site)] = xy
        if value is not None:
            r.scores[a.key] = value
            if when is not None:
                r.scored_at[a.key] = when
    return list(readings.values())
