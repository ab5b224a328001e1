"""Scores CSV (ra_desktop.scoring.csvio): exact round trip, formula-safe cells, one clear error per bad row."""
from __future__ import annotations

import csv
import io
import re

import pytest

from ra_desktop.scoring.csvio import (COLUMNS, MARKER_COLUMNS, Reading, ScoresFileError, read_scores_csv,
                                      write_readings_csv, write_scores_csv)
from ra_desktop.scoring.svdh import EROSION, JSN, NOT_ASSESSABLE, hand_areas

T0 = 1_740_830_405.0  # 2025-03-01T12:00:05Z


def _sheet(hand: str, offset: int) -> dict:
    """Every area of ``hand`` scored (one not assessable, two left unscored)."""
    sheet = {}
    for i, a in enumerate(hand_areas(hand)):
        if i in (3, 20):
            continue  # unscored
        sheet[a.key] = NOT_ASSESSABLE if i == 7 else (i + offset) % (a.max + 1)
    return sheet


def _rows(path) -> list[dict]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_round_trip_is_exact(tmp_path):
    sheets = {"Dr Ana Ñúñez": {**_sheet("R", 0), **_sheet("L", 1)},
              "=HYPERLINK(\"http://x\")": _sheet("R", 2),  # a reader name that is a formula
              "'quoted": _sheet("L", 3),  # a value that itself starts with the quote mark
              " -1 minus": _sheet("R", 4)}
    times = {"Dr Ana Ñúñez": {k: T0 + i for i, k in enumerate(sheets["Dr Ana Ñúñez"])}}
    path = tmp_path / "scores.csv"
    write_scores_csv(path, "+1.2.840.10008.5.1", sheets, times)
    readings = read_scores_csv(path)
    assert [r.reader for r in readings] == list(sheets)
    for r in readings:
        assert r.case_id == "+1.2.840.10008.5.1"
        assert r.scores == sheets[r.reader]  # ints stay ints, "NA" stays "NA", unscored stay absent
        assert r.scored_at == times.get(r.reader, {})
        assert r.hands == ("R", "L")
    # The same readings written again give the same bytes.
    again = io.BytesIO()
    write_readings_csv(again, readings)
    assert again.getvalue() == path.read_bytes()


def test_file_layout_bom_and_safe_cells(tmp_path):
    path = tmp_path / "s.csv"
    write_scores_csv(path, "@case", {"=cmd|' /C calc'!A0": {("R", EROSION, "MCP2"): 3}}, hands=("R",))
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig").splitlines()[0] == ",".join(COLUMNS)
    rows = _rows(path)
    assert len(rows) == len(hand_areas("R")) == 31  # every area of the hand, unscored ones empty
    assert {r["case_id"] for r in rows} == {"'@case"}
    assert {r["reader"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    mcp2 = next(r for r in rows if r["kind"] == EROSION and r["site"] == "MCP2")
    assert (mcp2["score"], mcp2["area"], mcp2["scored_at_utc"]) == ("3", "MCP 2", "")
    assert sum(r["score"] == "" for r in rows) == 30
    for r in rows:
        for cell in r.values():
            assert not cell.lstrip().startswith(("=", "+", "-", "@"))


def test_times_are_iso_utc(tmp_path):
    path = tmp_path / "t.csv"
    write_scores_csv(path, "c", {"r": {("L", JSN, "radiocarpal"): 2}}, {"r": {("L", JSN, "radiocarpal"): T0}},
                     hands=("L",))
    row = next(r for r in _rows(path) if r["score"])
    assert row["scored_at_utc"] == "2025-03-01T12:00:05Z"


def test_text_file_object_and_several_cases(tmp_path):
    buf = io.StringIO()
    readings = [Reading("a", "r1", {("R", JSN, "CMC3"): 4}, ("R",)),
                Reading("b", "r1", {("L", EROSION, "distal_ulna"): NOT_ASSESSABLE}, ("L",))]
    write_readings_csv(buf, readings)
    path = tmp_path / "x.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    assert read_scores_csv(path) == readings  # no markers given: none written, None read back
    buf = io.StringIO()
    write_readings_csv(buf, [readings[0], Reading("b", "r1", {}, ("L",), markers={("L", "PIP2"): (1, 2)})])
    path.write_text(buf.getvalue(), encoding="utf-8")
    a, b = read_scores_csv(path)  # one reading with markers: the columns, empty for the other's sites
    assert a.markers == {} and b.markers == {("L", "PIP2"): (1.0, 2.0)}


def test_markers_round_trip_to_the_written_precision(tmp_path):
    markers = {("R", "MCP2"): (123.456789, 0.004), ("R", "radiocarpal"): (1e4 / 3, 77.0),
               ("L", "CMC3"): (5.005, 6.994999)}  # CMC3: a narrowing-only site
    sheets = {"dr a": {("R", EROSION, "MCP2"): 2}, "dr b": {}}
    path = tmp_path / "m.csv"
    write_scores_csv(path, "c", sheets, markers={"dr a": markers})
    rows = _rows(path)
    mcp2 = [(r["marker_x"], r["marker_y"]) for r in rows
            if r["reader"] == "dr a" and (r["hand"], r["site"]) == ("R", "MCP2")]
    assert mcp2 == [("123.46", "0.00")] * 2  # erosion and narrowing rows: one position
    assert all(r["marker_x"] == r["marker_y"] == "" for r in rows if r["reader"] == "dr b")
    a, b = read_scores_csv(path)
    assert a.markers == {k: (float(f"{x:.2f}"), float(f"{y:.2f}")) for k, (x, y) in markers.items()}
    assert a.markers[("R", "MCP2")] == (123.46, 0.0) and b.markers == {}  # {}: the file says none placed
    assert a.scores == sheets["dr a"]
    again = io.BytesIO()
    write_readings_csv(again, [a, b])
    assert again.getvalue() == path.read_bytes()


def test_a_file_without_marker_columns_reads_as_before(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "c1,dr a,R,erosion,MCP2,MCP 2,3,2025-03-01T12:00:05Z\n",
                    encoding="utf-8")
    (r,) = read_scores_csv(path)
    assert r == Reading("c1", "dr a", {("R", EROSION, "MCP2"): 3}, ("R",), {("R", EROSION, "MCP2"): T0})
    assert r.markers is None  # says nothing about markers (an import keeps those stored)


def test_writer_refuses_invalid_scores(tmp_path):
    with pytest.raises(ValueError, match="0–4"):
        write_scores_csv(tmp_path / "x.csv", "c", {"r": {("R", JSN, "MCP1"): 5}})
    with pytest.raises(ValueError, match="hand"):
        write_scores_csv(tmp_path / "x.csv", "c", {"r": {("L", JSN, "MCP1"): 1}}, hands=("R",))
    with pytest.raises(ValueError, match="not negative"):
        write_scores_csv(tmp_path / "x.csv", "c", {"r": {}}, hands=("R",), markers={"r": {("R", "MCP2"): (-1, 2)}})
    with pytest.raises(ValueError, match="not negative"):
        write_scores_csv(tmp_path / "x.csv", "c", {"r": {}}, markers={"r": {("R", "MCP2"): (float("nan"), 2)}})
    with pytest.raises(ValueError, match="not a site"):
        write_scores_csv(tmp_path / "x.csv", "c", {"r": {}}, hands=("R",), markers={"r": {("L", "MCP2"): (1, 2)}})
    assert not (tmp_path / "x.csv").exists()


def _bad(tmp_path, body: str, header: str = ",".join(COLUMNS)):
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n" + body, encoding="utf-8")
    with pytest.raises(ScoresFileError) as info:
        read_scores_csv(path)
    return info.value


GOOD = "c1,dr a,R,erosion,MCP2,MCP 2,3,\n"


@pytest.mark.parametrize("body, line, reason", [
    (GOOD + "c1,dr a,R,erosion,MCP9,,1,\n", 3, "unknown area"),
    (GOOD + "c1,dr a,R,erosion,CMC3,,1,\n", 3, "unknown area"),  # CMC3 is a narrowing area only
    (GOOD + "c1,dr a,X,erosion,MCP2,,1,\n", 3, "unknown area"),
    (GOOD + "c1,dr a,R,bone,MCP2,,1,\n", 3, "unknown area"),
    (GOOD + "c1,dr a,R,erosion,MCP3,,6,\n", 3, "out of range for MCP 3, erosion"),
    (GOOD + "c1,dr a,R,jsn,MCP3,,5,\n", 3, "out of range for MCP 3, narrowing"),
    (GOOD + "c1,dr a,R,jsn,MCP3,,'-1,\n", 3, "out of range"),
    (GOOD + "c1,dr a,R,jsn,MCP3,,2.5,\n", 3, "not a whole number"),
    (GOOD + "c1,dr a,R,jsn,MCP3,,1_0,\n", 3, "not a whole number"),
    (GOOD + "c1,dr a,R,erosion,MCP2,MCP 2,2,\n", 3, "duplicate area.*already on line 2"),
    (GOOD + "c1,dr a,R,jsn,MCP3,,1,yesterday\n", 3, "scored_at_utc"),
    (GOOD + "c1,dr a,R,jsn,MCP3,,1\n", 3, "7 cells for 8 columns"),
    (GOOD + ",dr a,R,jsn,MCP3,,1,\n", 3, "empty case_id"),
    (GOOD + "c1,,R,jsn,MCP3,,1,\n", 3, "empty reader"),
])
def test_each_bad_row_is_named(tmp_path, body, line, reason):
    err = _bad(tmp_path, body)
    assert err.line == line and str(err.path).endswith("bad.csv")
    assert str(err).startswith(f"{err.path}, line {line}: ")
    assert re.search(reason, str(err)), str(err)


MARKED = ",".join(COLUMNS + MARKER_COLUMNS)
GOOD_M = "c1,dr a,R,erosion,MCP2,MCP 2,3,,10.5,20\n"


@pytest.mark.parametrize("body, line, reason", [
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,abc,2\n", 3, "marker_x 'abc' is not a number.*R MCP3"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,1_0,2\n", 3, "marker_x '1_0' is not a number"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,1,inf\n", 3, "marker_y 'inf' is not finite"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,nan,2\n", 3, "marker_x 'nan' is not finite"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,1e999,2\n", 3, "marker_x '1e999' is not finite"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,'-0.5,2\n", 3, "marker_x '-0.5' is negative"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,4,\n", 3, "marker_y is empty but marker_x is not"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,, ,4\n", 3, "marker_x is empty but marker_y is not"),
    (GOOD_M + "c1,dr a,R,jsn,MCP2,,1,,10.5,20.01\n", 3, "marker of R MCP2 differs from line 2.*10.5, 20"),
    (GOOD_M + "c1,dr a,R,jsn,MCP2,,1,,,\n", 3, "marker of R MCP2 differs from line 2"),
    (GOOD_M.replace("10.5,20", ",") + "c1,dr a,R,jsn,MCP2,,1,,1,2\n", 3, "differs from line 2, which gives no marker"),
    (GOOD_M + "c1,dr a,R,jsn,MCP3,,1,,1,2\n" + "c1,dr a,R,jsn,MCP3,,1,,1,2,\n", 4, "11 cells for 10 columns"),
])
def test_each_bad_marker_is_named(tmp_path, body, line, reason):
    err = _bad(tmp_path, body, header=MARKED)
    assert err.line == line and str(err).startswith(f"{err.path}, line {line}: ")
    assert re.search(reason, str(err)), str(err)


def test_markers_agree_per_reader_and_case_and_half_a_column_is_refused(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(MARKED + "\n" + GOOD_M + GOOD_M.replace("dr a", "dr b").replace("10.5", "11")
                    + "c1,dr a,R,jsn,MCP2,,1,,10.50,2e1\n", encoding="utf-8")  # same numbers, other text
    a, b = read_scores_csv(path)
    assert a.markers == {("R", "MCP2"): (10.5, 20.0)} and b.markers == {("R", "MCP2"): (11.0, 20.0)}
    err = _bad(tmp_path, "c1,dr a,R,erosion,MCP2,MCP 2,3,,1\n", header=",".join(COLUMNS) + ",marker_x")
    assert err.line == 1 and "column marker_x without marker_y" in str(err)


def test_duplicates_are_per_reader_and_case(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(",".join(COLUMNS) + "\n" + GOOD + GOOD.replace("dr a", "dr b") + GOOD.replace("c1", "c2")
                    + "\n", encoding="utf-8")  # and a blank line
    assert [(r.case_id, r.reader) for r in read_scores_csv(path)] == [("c1", "dr a"), ("c1", "dr b"), ("c2", "dr a")]


def test_missing_column_and_unreadable_files(tmp_path):
    err = _bad(tmp_path, "c1,dr a,R,erosion,MCP2,1\n", header="case_id,reader,hand,kind,site,score")
    assert err.line == 1 and "missing columns area, scored_at_utc" in str(err)
    err = _bad(tmp_path, "", header="")
    assert "no header" in str(err)
    path = tmp_path / "latin1.csv"
    path.write_bytes((",".join(COLUMNS) + "\nc1,Dr Ñ,R,erosion,MCP2,,1,\n").encode("latin-1"))
    with pytest.raises(ScoresFileError, match="not UTF-8"):
        read_scores_csv(path)
    with pytest.raises(ScoresFileError, match="cannot read"):
        read_scores_csv(tmp_path / "absent.csv")
    with pytest.raises(ScoresFileError, match="not a regular file"):
        read_scores_csv(tmp_path)
