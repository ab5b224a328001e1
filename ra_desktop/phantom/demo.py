"""The bundled demo set (resources/demo): a dozen fixed cases across severities, both sides.

Regenerate with ``ra-desktop phantom --demo --out resources/demo`` (seed 900000; demo seeds
900000+ are never used for training (< 100000) or held-out testing (500000+)).
To keep the folder small (~35 MB) each case is written in one format, alternating DICOM
(DX, explicit VR little endian) and 16-bit PNG, at 1500 px on the long side.
"""
from __future__ import annotations

from pathlib import Path

from ra_desktop.phantom.generate import _write_labels, case_rng, generate_case
from ra_desktop.phantom.writer import write_case

DEMO_SEED = 900000
DEMO_SIZE = 1500
# (label, severity, side, forced RA-unrelated findings)
DEMO_CASES: tuple[tuple[str, int, str, tuple[str, ...]], ...] = (
    ("Normal", 0, "R", ()),
    ("Normal", 0, "L", ()),
    ("Normal", 0, "R", ("dip_oa",)),
    ("Normal", 0, "L", ("fracture",)),
    ("RA", 1, "R", ()),
    ("RA", 1, "L", ()),
    ("RA", 1, "R", ()),
    ("RA", 2, "L", ()),
    ("RA", 2, "R", ()),
    ("RA", 2, "L", ()),
    ("RA", 3, "R", ()),
    ("RA", 3, "L", ()),
)


def generate_demo(out_dir, seed: int = DEMO_SEED, size: int = DEMO_SIZE) -> list[dict]:
    """Write the demo cases to ``out_dir`` (same layout as a data set) and return the rows."""
    out_dir = Path(out_dir)
    rows = []
    for i, (label, sev, side, force) in enumerate(DEMO_CASES):
        case = generate_case(case_rng(seed, i), label, sev, side, size, seed_info=[seed, i],
                             force_findings=force)
        fmt = ("dcm",) if i % 2 == 0 else ("png",)
        rows.append(write_case(out_dir, case, seed, i, fmt))
    _write_labels(out_dir / "labels.csv", rows)
    return rows
