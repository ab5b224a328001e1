"""Property-based fuzzing of ``load_radiograph`` with hypothesis.

Random bytes, random bytes behind each format's magic number, and valid PNG, JPEG, BMP, TIFF
and DICOM files (native, JPEG 2000, RLE, JPEG baseline, deflated) mutated by bit flips, byte
overwrites, boundary integers, truncation, insertion and deletion. Every example must either
load a sane radiograph or raise ImageLoadError naming the file, with no exception a reader did
not anticipate, within 5 s of CPU and 500 MB.

Deterministic (derandomize, no example database) so CI sees the same examples every run.
RA_FUZZ_EXAMPLES scales the number of examples (scripts/fuzz_report.py uses it for long runs).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from bad_inputs import bounded_load, flush_tallies, tally, valid_seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import MAX_PIXELS

EXAMPLES = int(os.environ.get("RA_FUZZ_EXAMPLES", "100"))
SEEDS = valid_seeds()

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the CPU budget is asserted per example instead (a shared CI box is noisy)
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

_MAGICS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*",
           bytes(128) + b"DICM", b"\x08\x00\x05\x00", b"\x02\x00\x10\x00"]
_BOUNDARY = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]

# Half the edits land in the first 512 bytes, where headers live; the rest anywhere.
_where = st.one_of(st.integers(0, 511), st.integers(0, 1 << 24))
_edit = st.one_of(
    st.tuples(st.just("flip"), _where, st.integers(0, 7)),
    st.tuples(st.just("set"), _where, st.integers(0, 255)),
    st.tuples(st.just("int"), _where, st.sampled_from(_BOUNDARY), st.sampled_from(["<", ">"])),
    st.tuples(st.just("truncate"), _where),
    st.tuples(st.just("insert"), _where, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), _where, st.integers(1, 64)),
)


def mutate(data: bytes, edits) -> bytes:
    """Apply ``edits`` (as drawn from ``_edit``) in order; positions wrap to the current size."""
    buf = bytearray(data)
    for op, where, *args in edits:
        at = where % max(len(buf), 1)
        if op == "flip" and buf:
            buf[at] ^= 1 << args[0]
        elif op == "set" and buf:
            buf[at] = args[0]
        elif op == "int" and buf:
            value = args[0].to_bytes(4, "little" if args[1] == "<" else "big")
            buf[at : at + 4] = value[: len(buf) - at]
        elif op == "truncate":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = args[0]
        elif op == "delete":
            del buf[at : at + args[0]]
    return bytes(buf)


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    flush_tallies()


def _check(folder, group: str, data: bytes) -> None:
    path = folder / "fuzzed"  # no suffix: the format is sniffed from content
    path.write_bytes(data)
    outcome = bounded_load(path)
    tally(group).add(outcome)
    assert not outcome.crashed, f"{group}: {outcome.describe()}"
    assert outcome.within_bounds(), f"{group}: {outcome.describe()}"
    if outcome.radiograph is None:
        assert isinstance(outcome.error, ImageLoadError) and outcome.error.path == path
        assert str(path) in str(outcome.error) and outcome.error.reason
        return
    px = outcome.radiograph.pixels
    assert px.ndim == 2 and 0 < px.size <= MAX_PIXELS and not px.flags.writeable
    assert px.dtype.kind in "uif"


def test_seeds_are_valid():
    # Mutating files that never loaded would only fuzz the first parser.
    for name, data in SEEDS.items():
        assert len(data) > 50, name
    assert {"png-grey8", "jpeg-grey", "dicom-native16", "dicom-j2k", "dicom-deflated"} <= set(SEEDS)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_loads(name, tmp_path):
    (tmp_path / name).write_bytes(SEEDS[name])
    outcome = bounded_load(tmp_path / name)
    assert outcome.radiograph is not None, outcome.describe()


def test_fuzz_random_bytes(tmp_path):
    @FUZZ
    @given(st.binary(min_size=0, max_size=4096))
    def one(data):
        _check(tmp_path, "fuzz: random bytes", data)

    one()
    assert tally("fuzz: random bytes").tried >= EXAMPLES


def test_fuzz_magic_then_random_bytes(tmp_path):
    @FUZZ
    @given(st.sampled_from(_MAGICS), st.binary(min_size=0, max_size=4096))
    def one(magic, data):
        _check(tmp_path, "fuzz: magic + random bytes", magic + data)

    one()
    assert tally("fuzz: magic + random bytes").tried >= EXAMPLES


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_fuzz_mutated_valid_file(name, tmp_path):
    group = f"fuzz: mutated {name}"

    @FUZZ
    @given(st.lists(_edit, min_size=1, max_size=6))
    def one(edits):
        _check(tmp_path, group, mutate(SEEDS[name], edits))

    one()
    t = tally(group)
    assert t.tried >= EXAMPLES
    assert t.refused > 0  # the mutations do break files: this is not fuzzing a no-op


def test_mutate_is_what_it_says():
    data = bytes(range(10))
    assert mutate(data, [("flip", 0, 0)]) == b"\x01" + data[1:]
    assert mutate(data, [("truncate", 4)]) == data[:4]
    assert mutate(data, [("insert", 2, b"ab")]) == data[:2] + b"ab" + data[2:]
    assert mutate(data, [("delete", 2, 3)]) == data[:2] + data[5:]
    assert mutate(data, [("int", 8, 0xFFFFFFFF, "<")]) == data[:8] + b"\xff\xff"
    assert mutate(data, [("set", 13, 7)]) == data[:3] + b"\x07" + data[4:]  # wraps
    assert np.frombuffer(mutate(b"", [("flip", 5, 1)]), np.uint8).size == 0
