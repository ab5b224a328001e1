"""The reader's annotations of worklist cases (arrow, text, angle, rectangular and elliptical
region of interest), per case and reader, in the worklist database. No Qt.

Points are image pixel coordinates (x right, y down), so an annotation stays on the anatomy at any
zoom, rotation or flip of the display. Each kind has a fixed number of points: an arrow its tail
and tip, a text its anchor, an angle its first arm, vertex and second arm, a region two opposite
corners of its bounding box. Values (angle, region mean/SD/area) are not stored: they are computed
from the image when shown (ra_desktop/measure/roi.py), so they always match the pixels.

Every call is one short transaction, as in :mod:`ra_desktop.worklist.store`. The table (its SQL
in :mod:`ra_desktop.worklist.schema`) is created by the store when it opens a database (schema 5);
an older file gains it then, nothing else touched.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ra_desktop.worklist.store import WorklistStore

KINDS = ("arrow", "text", "angle", "roi_rect", "roi_ellipse")
POINTS = {"arrow": 2, "text": 1, "angle": 3, "roi_rect": 2, "roi_ellipse": 2}
TITLES = {"arrow": "Arrow", "text": "Text", "angle": "Angle", "roi_rect": "Rectangle ROI",
          "roi_ellipse": "Ellipse ROI"}
MAX_TEXT = 500  # characters: a label, not a report


@dataclass(frozen=True)
class Annotation:
    """One annotation; ``id`` is None until it is stored."""

    kind: str
    points: tuple[tuple[float, float], ...]
    text: str = ""
    id: int | None = None
    reader: str = ""


def checked(a: Annotation) -> Annotation:
    """``a`` with float points and tidy text, or ValueError saying what is wrong."""
    if a.kind not in KINDS:
        raise ValueError(f"no annotation kind {a.kind!r}; choose one of {', '.join(KINDS)}")
    pts = tuple((float(p[0]), float(p[1])) for p in a.points)
    if len(pts) != POINTS[a.kind]:
        raise ValueError(f"a {a.kind} annotation has {POINTS[a.kind]} point(s), not {len(pts)}")
    if not all(math.isfinite(v) for p in pts for v in p):
        raise ValueError("annotation points must be finite numbers")
    text = " ".join(str(a.text or "").split())  # one line: no control characters, no layout tricks
    if len(text) > MAX_TEXT:
        raise ValueError(f"annotation text is {len(text)} characters; at most {MAX_TEXT}")
    if a.kind == "text" and not text:
        raise ValueError("a text annotation needs its text")
    return Annotation(a.kind, pts, text, a.id, a.reader)


class AnnotationBook:
    """Annotations of every case and reader, kept in ``store``'s database."""

    def __init__(self, store: WorklistStore) -> None:
        self.store = store

    def add(self, row_id: int, reader: str, annotation: Annotation) -> Annotation:
        """Store a new annotation; returns it with its id."""
        a = checked(annotation)
        now = time.time()
        con = self.store._con()
        with con:
            cur = con.execute(
                "INSERT INTO annotations (case_row, reader, kind, points_json, text, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?)", (row_id, reader, a.kind, json.dumps([list(p) for p in a.points]),
                                            a.text, now, now))
        return Annotation(a.kind, a.points, a.text, int(cur.lastrowid), reader)

    def update(self, annotation_id: int, points=None, text: str | None = None) -> Annotation:
        """Move an annotation's points and/or change its text; KeyError when it is gone."""
        old = self.get(annotation_id)
        if old is None:
            raise KeyError(f"no annotation {annotation_id}")
        a = checked(Annotation(old.kind, tuple(points) if points is not None else old.points,
                               old.text if text is None else text, old.id, old.reader))
        con = self.store._con()
        with con:
            con.execute("UPDATE annotations SET points_json=?, text=?, updated_at=? WHERE id=?",
                        (json.dumps([list(p) for p in a.points]), a.text, time.time(), annotation_id))
        return a

    def delete(self, annotation_id: int) -> bool:
        """Remove an annotation; False when it was already gone."""
        con = self.store._con()
        with con:
            cur = con.execute("DELETE FROM annotations WHERE id=?", (annotation_id,))
        return cur.rowcount > 0

    def get(self, annotation_id: int) -> Annotation | None:
        r = self.store._con().execute("SELECT * FROM annotations WHERE id=?", (annotation_id,)).fetchone()
        return _annotation(r) if r else None

    def annotations(self, row_id: int, reader: str) -> list[Annotation]:
        """One reader's annotations of a case, oldest first."""
        rows = self.store._con().execute("SELECT * FROM annotations WHERE case_row=? AND reader=? ORDER BY id",
                                         (row_id, reader))
        return [_annotation(r) for r in rows]

    def readers(self, row_id: int) -> list[str]:
        """Readers who annotated this case, first annotator first."""
        rows = self.store._con().execute(
            "SELECT reader, MIN(id) AS first FROM annotations WHERE case_row=? GROUP BY reader ORDER BY first",
            (row_id,))
        return [r for r, _ in rows]


def _annotation(r) -> Annotation:
    return Annotation(r["kind"], tuple((float(x), float(y)) for x, y in json.loads(r["points_json"])), r["text"],
                      int(r["id"]), r["reader"])
