"""``predict`` and ``report`` under torchrun: each rank a share, rank 0 prints what one process prints.

The shard/merge arithmetic is checked directly; then real 2-process Gloo runs (torchrun) of
``predict --json`` and ``report --summary`` over three demo images and a broken file are compared
with one process.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ra_desktop.distributed import DistInfo
from ra_desktop.shard import map_ordered, merge, shard

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 11])
def test_every_item_on_exactly_one_rank_and_merge_restores_the_order(n, world):
    items = [f"file{i}" for i in range(n)]
    parts = [shard(items, r, world) for r in range(world)]
    assert sorted(x for p in parts for x in p) == sorted(items)
    assert all(x == f"file{i}" for r, p in enumerate(parts) for i, x in zip(range(r, n, world), p))
    assert merge(parts) == items


def test_merge_refuses_a_rank_that_lost_a_record():
    with pytest.raises(ValueError, match="rank 1 returned 0 records for 1 items"):
        merge([["a", "c"], []], total=3)
    with pytest.raises(ValueError, match="rank 5"):
        shard([1, 2], 5, 2)


def test_alone_each_record_streams_in_order_and_a_crash_is_a_failed_record():
    def work(x):
        if x == 2:
            raise RuntimeError("decoder fell over")
        return ("ok", x)

    seen = []
    map_ordered(DistInfo(), iter(range(4)), work, lambda x, exc: ("failed", x, str(exc)),
                lambda i, rec: seen.append((i, rec)))
    assert seen == [(0, ("ok", 0)), (1, ("ok", 1)), (2, ("failed", 2, "decoder fell over")), (3, ("ok", 3))]


def test_blocks_keep_item_i_on_rank_i_mod_world(monkeypatch):
    """Distributed, the list is worked in blocks; what each rank computes is simulated here."""
    import ra_desktop.shard as S

    world, n = 3, 10
    calls = []

    def gather(info, mine):
        calls.append(list(mine))
        # the other ranks would compute their share of the same block: build it the same way
        start = (len(calls) - 1) * 2 * world
        block = list(range(n))[start:start + 2 * world]
        return [[("rec", x) for x in shard(block, r, world)] for r in range(world)]

    monkeypatch.setattr(S, "all_gather_objects", gather)
    seen = []
    map_ordered(DistInfo(0, world, 0, "gloo"), list(range(n)), lambda x: ("rec", x), lambda x, e: None,
                lambda i, rec: seen.append((i, rec)), per_rank=2)
    assert seen == [(i, ("rec", i)) for i in range(n)]
    assert calls[0] == [("rec", 0), ("rec", 3)]  # block 0..5, rank 0 of 3


# --- real torchrun runs ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Three demo studies (PNG and DICOM, one in a sub-folder) and a broken PNG."""
    from ra_desktop.paths import demo_dir

    root = tmp_path_factory.mktemp("archive")
    (root / "a").mkdir()
    demo = demo_dir()
    shutil.copy(demo / "Normal" / "phantom_900000_000001.png", root / "a")
    shutil.copy(demo / "RA" / "phantom_900000_000005.png", root / "a")
    shutil.copy(demo / "RA" / "phantom_900000_000004.dcm", root)
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return root


def _env() -> dict[str, str]:
    # RA_DESKTOP_HOME (the test's own home, from conftest) and the session HOME go to the children.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _run(args: list[str], ranks: int) -> subprocess.CompletedProcess:
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks)] if ranks > 1 else []
    return subprocess.run([sys.executable, *launcher, "-m", "ra_desktop", *args], env=_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _rank0_exit_code(proc: subprocess.CompletedProcess) -> int:
    """torchrun exits 1 when any rank exits non-zero; the rank's own status is in its report."""
    if proc.returncode == 0:
        return 0
    found = re.search(r"rank\s*:\s*0 \(local_rank: 0\)\s*\n\s*exitcode\s*:\s*(-?\d+)", proc.stderr)
    assert found, proc.stderr[-3000:]
    return int(found.group(1))


@pytest.mark.slow
def test_two_process_predict_json_equals_one_process(archive):
    one, two = _run(["predict", str(archive), "--json"], 1), _run(["predict", str(archive), "--json"], 2)
    assert one.returncode == 2, one.stderr[-3000:]
    assert _rank0_exit_code(two) == 2
    a = [json.loads(line) for line in one.stdout.splitlines()]
    b = [json.loads(line) for line in two.stdout.splitlines()]
    assert [r["file"] for r in b] == [r["file"] for r in a] == [
        str(archive / "a" / "broken.png"), str(archive / "a" / "phantom_900000_000001.png"),
        str(archive / "a" / "phantom_900000_000005.png"), str(archive / "phantom_900000_000004.dcm")]
    for r in (*a, *b):
        r.pop("timings_ms", None)
        r.pop("device", None)
    assert b == a  # probabilities, labels, OOD and the failure, record for record
    assert not b[0]["ok"] and "broken.png" in b[0]["file"] and b[0]["error"]
    assert all(r["ok"] and 0 <= r["probability"] <= 1 for r in b[1:] if r["model_applies"])
    # every file analysed once in the audit trail, by whichever rank had it
    from ra_desktop import audit

    events = [e for e in audit.read_events() if e["action"] == audit.ANALYSED]
    assert len(events) == 6 and len({e["case_id"] for e in events}) == 3


@pytest.mark.slow
def test_two_process_text_output_prints_once(archive):
    two = _run(["predict", str(archive / "a" / "phantom_900000_000001.png"), "--device", "cpu"], 2)
    assert two.returncode == 0, two.stderr[-3000:]
    lines = two.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("model: ") and "P(RA)=" in lines[1]


@pytest.mark.slow
def test_two_process_report_summary_equals_one_process(archive, tmp_path):
    out1, out2 = tmp_path / "one", tmp_path / "two"
    one = _run(["report", str(archive), "--out", str(out1), "--summary"], 1)
    two = _run(["report", str(archive), "--out", str(out2), "--summary"], 2)
    assert one.returncode == 2, one.stderr[-3000:]
    assert _rank0_exit_code(two) == 2
    pdfs = sorted(p.name for p in out1.glob("RA-report_*.pdf"))
    assert len(pdfs) == 3 and sorted(p.name for p in out2.glob("RA-report_*.pdf")) == pdfs
    (csv1,), (csv2,) = out1.glob("RA-report-summary_*.csv"), out2.glob("RA-report-summary_*.csv")
    assert len(list(out2.glob("RA-report-summary_*.pdf"))) == 1  # written once, by rank 0
    # the same bytes but for the folder named in the report_file column
    def same(data: bytes, out: Path) -> bytes:
        return data.replace(str(out).encode(), b"OUT")

    assert same(csv2.read_bytes(), out2) == same(csv1.read_bytes(), out1)
    assert same(two.stdout.encode(), out2).splitlines()[:3] == same(one.stdout.encode(), out1).splitlines()[:3]
    assert f"{archive / 'a' / 'broken.png'}: FAILED:" in two.stderr


@pytest.mark.slow
def test_a_model_that_does_not_load_stops_every_rank_with_exit_1(archive, tmp_path):
    two = _run(["predict", str(archive), "--model", str(tmp_path / "no-model"), "--json"], 2)
    assert _rank0_exit_code(two) == 1
    assert two.stdout == ""
    assert two.stderr.count("error: rank 0: ") == two.stderr.count("error: rank 1: ") == 1  # by rank 0
