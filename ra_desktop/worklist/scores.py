"""Sharp/van der Heijde scores and joint markers of worklist cases, per reader, in the worklist
database. No Qt.

Every call is one short transaction, as in :mod:`ra_desktop.worklist.store`: a score is on disk
when the key press that set it returns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ra_desktop.scoring.svdh import NOT_ASSESSABLE, SITES, area, check_score
from ra_desktop.worklist.store import WorklistStore

Score = int | str  # 0..max or NOT_ASSESSABLE
ScoreKey = tuple[str, str, str]  # (hand, kind, site)


@dataclass(frozen=True)
class Marker:
    """Where a site is on the image, in image pixels (x right, y down), and who put it there."""

    hand: str
    site: str
    x: float
    y: float
    source: str  # "reader", "ground truth", "template", "imported" (from a scores CSV)


class ScoreBook:
    """Scores and markers of every case and reader, kept in ``store``'s database."""

    def __init__(self, store: WorklistStore) -> None:
        self.store = store

    # ---- scores ------------------------------------------------------------------------------
    def set_score(self, row_id: int, reader: str, hand: str, kind: str, site: str,
                  value: Score | None) -> None:
        """Set (or with ``None`` clear) one area's score for one reader."""
        a = area(hand, kind, site)
        check_score(a, value)
        con = self.store._con()
        with con:
            if value is None:
                con.execute("DELETE FROM scores WHERE case_row=? AND reader=? AND hand=? AND kind=? AND site=?",
                            (row_id, reader, hand, kind, site))
                return
            na = value == NOT_ASSESSABLE
            con.execute(
                "INSERT INTO scores (case_row, reader, hand, kind, site, score, not_assessable, scored_at)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (case_row, reader, hand, kind, site) DO UPDATE SET"
                " score=excluded.score, not_assessable=excluded.not_assessable, scored_at=excluded.scored_at",
                (row_id, reader, hand, kind, site, None if na else int(value), int(na), time.time()))

    def scores(self, row_id: int, reader: str) -> dict[ScoreKey, Score]:
        rows = self.store._con().execute(
            "SELECT hand, kind, site, score, not_assessable FROM scores WHERE case_row=? AND reader=?",
            (row_id, reader))
        return {(h, k, s): (NOT_ASSESSABLE if na else int(v)) for h, k, s, v, na in rows}

    def scored_at(self, row_id: int, reader: str) -> dict[ScoreKey, float]:
        rows = self.store._con().execute(
            "SELECT hand, kind, site, scored_at FROM scores WHERE case_row=? AND reader=?", (row_id, reader))
        return {(h, k, s): float(t) for h, k, s, t in rows}

    def readers(self, row_id: int) -> list[str]:
        """Readers who scored this case, first scorer first."""
        rows = self.store._con().execute(
            "SELECT reader, MIN(scored_at) AS first FROM scores WHERE case_row=? GROUP BY reader ORDER BY first",
            (row_id,))
        return [r for r, _ in rows]

    def replace_scores(self, row_id: int, reader: str, scores: dict[ScoreKey, Score]) -> None:
        """One reader's whole sheet for a case, in one transaction (CSV import)."""
        for (hand, kind, site), value in scores.items():
            check_score(area(hand, kind, site), value)
        now = time.time()
        con = self.store._con()
        with con:
            con.execute("DELETE FROM scores WHERE case_row=? AND reader=?", (row_id, reader))
            con.executemany(
                "INSERT INTO scores (case_row, reader, hand, kind, site, score, not_assessable, scored_at)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [(row_id, reader, h, k, s, None if v == NOT_ASSESSABLE else int(v), int(v == NOT_ASSESSABLE), now)
                 for (h, k, s), v in scores.items()])

    # ---- markers -----------------------------------------------------------------------------
    def set_marker(self, row_id: int, reader: str, hand: str, site: str, x: float, y: float,
                   source: str = "reader") -> None:
        if site not in SITES or hand not in ("L", "R"):
            raise ValueError(f"no scoring site {site!r} on hand {hand!r}")
        con = self.store._con()
        with con:
            con.execute(
                "INSERT INTO markers (case_row, reader, hand, site, x, y, source, placed_at)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (case_row, reader, hand, site) DO UPDATE SET"
                " x=excluded.x, y=excluded.y, source=excluded.source, placed_at=excluded.placed_at",
                (row_id, reader, hand, site, float(x), float(y), source, time.time()))

    def replace_markers(self, row_id: int, reader: str, markers: dict[tuple[str, str], tuple[float, float]],
                        source: str) -> None:
        """One reader's whole set of markers for a case, in one transaction (CSV import)."""
        for hand, site in markers:
            if site not in SITES or hand not in ("L", "R"):
                raise ValueError(f"no scoring site {site!r} on hand {hand!r}")
        now = time.time()
        con = self.store._con()
        with con:
            con.execute("DELETE FROM markers WHERE case_row=? AND reader=?", (row_id, reader))
            con.executemany(
                "INSERT INTO markers (case_row, reader, hand, site, x, y, source, placed_at) VALUES (?,?,?,?,?,?,?,?)",
                [(row_id, reader, h, s, float(x), float(y), source, now) for (h, s), (x, y) in markers.items()])

    def markers(self, row_id: int, reader: str) -> dict[tuple[str, str], Marker]:
        rows = self.store._con().execute(
            "SELECT hand, site, x, y, source FROM markers WHERE case_row=? AND reader=?", (row_id, reader))
        return {(h, s): Marker(h, s, float(x), float(y), src) for h, s, x, y, src in rows}
