"""The marker atlas (issue #21's handout): the same hand throughout, only the named marker changes,
arrows at the changed joints, the truth's SvdH grades, and a PDF a teacher can print."""
from __future__ import annotations

import numpy as np
import pytest
from pypdf import PdfReader

from ra_desktop.cli import main
from ra_desktop.phantom.atlas import MARKERS, plates
from ra_desktop.report.atlas import write_atlas

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def atlas():
    return list(plates(seed=3, side="L", size=900))


def test_one_plate_per_marker_normal_first_then_each_severity(atlas):
    assert [p.marker.key for p in atlas] == [m.key for m in MARKERS]
    for plate in atlas:
        levels = [p.level for p in plate.panels]
        assert levels == [0, *plate.marker.levels]
        assert len({p.image.shape for p in plate.panels}) == 1  # the same crop of the same hand
        assert plate.panels[0].arrows == [] and all(len(p.arrows) == len(plate.marker.joints)
                                                    for p in plate.panels[1:])


def test_only_the_marker_changes_the_image(atlas):
    # Same anatomy, acquisition and noise: the pixels differ from the normal hand only where the
    # marker is drawn, and more with each severity (swelling, osteopenia, narrowing, erosions).
    for plate in atlas[:4]:
        normal = plate.panels[0].image.astype(np.int16)
        changed = [np.mean(np.abs(p.image.astype(np.int16) - normal) > 8) for p in plate.panels[1:]]
        assert 0 < changed[0] <= changed[-1] < 0.5, (plate.marker.key, changed)


def test_grades_follow_the_truth(atlas):
    erosion = next(p for p in atlas if p.marker.key == "erosion")
    assert erosion.panels[0].grades == "SvdH erosion: MCP2 0, MCP3 0, PIP2 0, PIP3 0"
    assert all("MCP2 0" not in p.grades for p in erosion.panels[1:])
    narrowing = next(p for p in atlas if p.marker.key == "narrowing")
    assert narrowing.panels[-1].grades.startswith("SvdH narrowing: MCP2 3")  # 95% lost: less than half left
    assert next(p for p in atlas if p.marker.key == "ankylosis").panels[-1].grades.endswith("radiocarpal 4, C-S-L 4")


def test_pdf_names_every_marker_and_says_it_is_synthetic(atlas, tmp_path):
    out = write_atlas(atlas, tmp_path, seed=3, side="L")
    assert out.name == "RA-marker-atlas_3L.pdf"
    reader = PdfReader(str(out))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    for m in MARKERS:
        assert m.title in text
    assert "Synthetic phantoms" in text and "not patient images" in text and "not for clinical use" in text
    # Every severity panel is its own image (identical normal panels are embedded once per page).
    assert sum(len(p.images) for p in reader.pages) >= sum(len(p.panels) - 1 for p in atlas)


def test_cli_writes_the_atlas(atlas, tmp_path, capsys, monkeypatch):
    import ra_desktop.phantom.atlas as atlas_mod

    asked = []
    monkeypatch.setattr(atlas_mod, "plates", lambda *a: asked.append(a) or iter(atlas))  # rendered once above
    assert main(["atlas", "--out", str(tmp_path), "--size", "1500", "--seed", "1"]) == 0
    assert asked == [(1, "R", 1500, 2)]  # the shaped wrist unless asked otherwise
    assert (tmp_path / "RA-marker-atlas_1R.pdf").is_file()
    assert main(["atlas", "--out", str(tmp_path), "--size", "1500", "--anatomy", "1"]) == 0
    assert asked[-1] == (0, "R", 1500, 1)
    assert main(["atlas", "--out", str(tmp_path), "--size", "900"]) == 2
    assert "--size must be 1500-3000" in capsys.readouterr().err
