"""`ra-desktop inspect`: table and JSON output, failures reported, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from io_fixtures import real_dicom, write_dicom
from PIL import Image

from ra_desktop.cli import main


def _folder(tmp_path):
    write_dicom(tmp_path / "hand.dcm", np.arange(16, dtype=np.uint16).reshape(4, 4) * 1000,
                ImageLaterality="L", ViewPosition="PA", PixelSpacing=[0.1, 0.1],
                WindowCenter=8000, WindowWidth=16000, BitsStored=14)
    Image.fromarray(np.full((3, 5), 9, np.uint8)).save(tmp_path / "photo.png")
    return tmp_path


def test_json_success(tmp_path, capsys):
    folder = _folder(tmp_path)
    assert main(["inspect", str(folder), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["path"].rsplit("/", 1)[-1] for r in records] == ["hand.dcm", "photo.png"]
    dcm, png = records
    assert dcm["format"] == "DICOM" and dcm["modality"] == "CR"
    assert (dcm["width"], dcm["height"], dcm["bits_stored"], dcm["dtype"]) == (4, 4, 14, "uint16")
    assert (dcm["min"], dcm["max"]) == (0, 15000)
    assert (dcm["window_center"], dcm["window_width"]) == (8000.0, 16000.0)
    assert dcm["pixel_spacing_mm"] == [0.1, 0.1]
    assert (dcm["laterality"], dcm["view_position"]) == ("L", "PA")
    assert dcm["transfer_syntax_name"] == "Explicit VR Little Endian"
    assert dcm["photometric"] == "MONOCHROME2"
    assert png["format"] == "PNG" and png["case_id"].startswith("sha256:")
    assert (png["width"], png["height"], png["min"], png["max"]) == (5, 3, 9, 9)


def test_table_with_failure_exits_2_and_continues(tmp_path, capsys):
    folder = _folder(tmp_path)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    code = main(["inspect", str(folder), str(real_dicom("RG1_UNCR.dcm"))])
    out = capsys.readouterr().out
    assert code == 2
    header = out.splitlines()[0]
    for column in ("FILE", "FORMAT", "SIZE", "BITS", "PHOTOMETRIC", "RANGE", "WINDOW C/W",
                   "SPACING mm", "LAT", "VIEW", "MOD", "TRANSFER SYNTAX", "CASE ID"):
        assert column in header
    rows = {line.split()[0].rsplit("/", 1)[-1]: line for line in out.splitlines()[1:4]}
    assert set(rows) == {"hand.dcm", "photo.png", "RG1_UNCR.dcm"}
    assert "MONOCHROME1" in rows["RG1_UNCR.dcm"] and "15 (uint16)" in rows["RG1_UNCR.dcm"]
    assert "4x4" in rows["hand.dcm"] and "0.1x0.1" in rows["hand.dcm"]
    # Columns are aligned: every row starts FORMAT at the same offset as the header.
    offset = header.index("FORMAT")
    assert all(line[offset:].split()[0] in ("DICOM", "PNG") for line in rows.values())
    assert "Failed (1 of 4)" in out and "broken.png:" in out


def test_json_failure_object(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an image")
    assert main(["inspect", "--json", str(tmp_path / "notes.txt")]) == 2
    records = json.loads(capsys.readouterr().out)
    assert records == [{"path": str(tmp_path / "notes.txt"),
                        "error": "not an image: the file contains text"}]


def test_notes_listed(capsys):
    assert main(["inspect", str(real_dicom("emri_small.dcm"))]) == 0
    assert "multi-frame (10 frames): first frame shown" in capsys.readouterr().out


def test_empty_folder_exits_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 2
    assert "no image files found" in capsys.readouterr().err


def test_inspect_does_not_import_torch(tmp_path):
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "a.png")
    code = (
        "import sys; from ra_desktop.cli import main; "
        f"rc = main(['inspect', {str(tmp_path)!r}]); "
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_terminal_escapes_in_tags_and_names_are_shown_not_obeyed(tmp_path, capsys):
    # ESC ] 0 ; ... BEL retitles a terminal, ESC [ 2 J clears it, U+202E reverses what follows.
    hostile = "\x1b]0;owned\x07\x1b[2J\u202eMRN"
    write_dicom(tmp_path / "hand\x1b[31m.dcm", np.zeros((4, 4), np.uint16), PatientID=hostile[:16],
                ViewPosition="PA", Modality="CR\x1b[5m")
    (tmp_path / "bad\x1b[2J.png").write_bytes(b"not an image")
    assert main(["inspect", str(tmp_path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "hand\\x1b[31m.dcm" in text and "bad\\x1b[2J.png" in text  # shown, visibly
