"""Annotations without Qt: angle and region statistics exact on crafted arrays; the reader's
annotations stored per case and reader (add, update, delete, reopen); a schema-4 worklist gains the
table without losing its rows."""
from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from ra_desktop.measure.roi import (angle_deg, angle_text, annotation_value, roi_mask, roi_stats, shape_area,
                                    stats_text)
from ra_desktop.worklist.annotations import Annotation, AnnotationBook
from ra_desktop.worklist.store import SCHEMA_VERSION, NewCase, WorklistStore


def test_angle_from_three_points():
    assert angle_deg((10, 0), (0, 0), (0, 10)) == pytest.approx(90.0)
    assert angle_deg((-5, 0), (0, 0), (7, 0)) == pytest.approx(180.0)  # a straight finger
    assert angle_deg((1, 1), (0, 0), (1, 0)) == pytest.approx(45.0)
    assert angle_deg((0, 0), (0, 0), (1, 0)) is None  # an arm without length
    # MCP ulnar deviation: metacarpal axis straight up, the finger turned 30° off it
    a, b = (100, 300), (100, 200)
    c = (100 + 100 * math.sin(math.radians(30)), 200 - 100 * math.cos(math.radians(30)))
    assert angle_deg(a, b, c) == pytest.approx(150.0)
    assert angle_text(150.0) == "150.0° (30.0° from straight)"
    # spacing (row, col) = (0.1, 0.2) mm: one column is twice as long as one row on the patient
    assert angle_deg((10, 0), (0, 0), (10, 20), (0.1, 0.2)) == pytest.approx(45.0)
    assert angle_deg((10, 0), (0, 0), (10, 10)) == pytest.approx(45.0)


def test_rectangle_statistics_exact():
    img = np.arange(100, dtype=np.uint16).reshape(10, 10)  # value = 10 * row + col
    s = roi_stats(img, "roi_rect", (2, 3), (6, 8))  # columns 2..5, rows 3..7
    inside = img[3:8, 2:6].astype(float)
    assert s.n == 20 and s.mean == pytest.approx(inside.mean()) and s.sd == pytest.approx(inside.std(ddof=1))
    assert (s.minimum, s.maximum) == (32.0, 75.0)
    assert (s.area, s.unit) == (20.0, "px²")
    # corners in any order, spacing: mm²
    s2 = roi_stats(img, "roi_rect", (6, 8), (2, 3), (0.5, 0.25))
    assert s2.mean == s.mean and s2.area == pytest.approx(4 * 0.25 * 5 * 0.5) and s2.unit == "mm²"
    # the region on the modality values, not a display byte: negative and large values kept
    f = np.full((6, 6), -1000.0)
    f[0, 0] = 1e6
    assert roi_stats(f, "roi_rect", (1, 1), (4, 4)).mean == -1000.0
    # clipped to the image
    assert roi_stats(img, "roi_rect", (-5, -5), (2, 2)).n == 4
    assert roi_stats(img, "roi_rect", (20, 20), (30, 30)).n == 0
    assert "no pixels" in stats_text(roi_stats(img, "roi_rect", (20, 20), (30, 30)))


def test_ellipse_statistics_exact():
    img = np.zeros((21, 21))
    rows, cols, mask = roi_mask(img.shape, "roi_ellipse", (0, 0), (21, 21))  # a circle of radius 10.5
    yy, xx = np.mgrid[0:21, 0:21] + 0.5
    expected = (xx - 10.5) ** 2 + (yy - 10.5) ** 2 <= 10.5 ** 2
    assert np.array_equal(mask, expected[rows, cols])
    img[expected] = 7.0
    img[~expected] = 1000.0  # outside the ellipse: must not count
    s = roi_stats(img, "roi_ellipse", (21, 21), (0, 0), (0.2, 0.2))
    assert s.n == int(expected.sum()) and s.mean == 7.0 and s.sd == 0.0
    assert s.area == pytest.approx(math.pi * (21 * 0.2 / 2) ** 2) and s.unit == "mm²"
    assert shape_area("roi_ellipse", (0, 0), (4, 2)) == (pytest.approx(2 * math.pi), "px²")
    assert annotation_value("roi_ellipse", [(0, 0), (21, 21)], img, None).startswith("mean 7 · SD 0 · ")
    assert annotation_value("angle", [(1, 0), (0, 0), (0, 1)], None, None).startswith("90.0°")
    assert annotation_value("arrow", [(1, 0), (0, 0)], img, None) == ""


def _case(store: WorklistStore, cid: str = "1.2.3") -> int:
    (row_id,) = store.add_cases([NewCase(case_id=cid, path=f"/x/{cid}.dcm")])
    return row_id


def test_annotations_round_trip(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    row, other = _case(store), _case(store, "4.5.6")
    book = AnnotationBook(store)
    arrow = book.add(row, "Dr A", Annotation("arrow", ((1, 2), (30.5, 40))))
    text = book.add(row, "Dr A", Annotation("text", ((5, 5),), "  erosion?\n MCP2 "))
    angle = book.add(row, "Dr A", Annotation("angle", ((0, 10), (0, 0), (10, 0))))
    book.add(row, "Dr B", Annotation("roi_rect", ((0, 0), (4, 4))))
    book.add(other, "Dr A", Annotation("roi_ellipse", ((0, 0), (4, 4))))
    assert arrow.id and text.text == "erosion? MCP2"  # one line, no control characters
    store.close()

    again = AnnotationBook(WorklistStore(tmp_path / "w.sqlite"))  # reopened: all there
    mine = again.annotations(row, "Dr A")
    assert [a.kind for a in mine] == ["arrow", "text", "angle"]
    assert mine[0].points == ((1.0, 2.0), (30.5, 40.0)) and mine[0].reader == "Dr A"
    assert [a.kind for a in again.annotations(row, "Dr B")] == ["roi_rect"]
    assert again.readers(row) == ["Dr A", "Dr B"]

    moved = again.update(angle.id, points=[(0, 10), (0, 0), (10, 10)])
    assert moved.points[2] == (10.0, 10.0) and again.get(angle.id).points[2] == (10.0, 10.0)
    assert again.update(text.id, text="joint space").text == "joint space"
    assert again.get(text.id).points == ((5.0, 5.0),)
    assert again.delete(arrow.id) and not again.delete(arrow.id)
    assert [a.kind for a in again.annotations(row, "Dr A")] == ["text", "angle"]
    with pytest.raises(KeyError):
        again.update(arrow.id, text="x")

    for bad in (Annotation("circle", ((0, 0), (1, 1))), Annotation("arrow", ((0, 0),)),
                Annotation("text", ((0, 0),), "   "), Annotation("angle", ((0, 0), (1, float("nan")), (2, 2))),
                Annotation("text", ((0, 0),), "x" * 501)):
        with pytest.raises(ValueError):
            again.add(row, "Dr A", bad)
    again.store.remove([row])  # annotations go with their case
    assert again.annotations(row, "Dr A") == [] and len(again.annotations(other, "Dr A")) == 1


def test_a_schema_4_database_gains_the_annotations_table(tmp_path):
    path = tmp_path / "v4.sqlite"
    store = WorklistStore(path)
    row = _case(store)
    store.sign_off(row, "agree", "Dr Old")
    store.close()
    con = sqlite3.connect(path)  # as version 4 left it: no annotations table
    con.execute("DROP TABLE annotations")
    con.execute("PRAGMA user_version=4")
    con.commit()
    con.close()
    upgraded = WorklistStore(path)
    (r,) = upgraded.rows()
    assert (r.case_id, r.verdict, r.reader) == ("1.2.3", "agree", "Dr Old")
    assert upgraded._con().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    book = AnnotationBook(upgraded)
    assert book.annotations(r.id, "Dr Old") == []
    book.add(r.id, "Dr Old", Annotation("arrow", ((0, 0), (3, 4))))
    assert len(book.annotations(r.id, "Dr Old")) == 1
