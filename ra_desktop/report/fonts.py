"""Fonts for report PDFs, and which characters they can draw.

DejaVu Sans (system, bundle or matplotlib's copy) covers Latin, Greek, Cyrillic and more; a CJK
font installed on the system (none is bundled: the installer has no room for one) is added as a
fallback the first time a character needs it. Without DejaVu the core Helvetica font is used,
with text mapped to Latin-1. A character no font can draw is printed as a visible mark and
counted, so the report can say so: fpdf2 would silently drop it.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from fpdf import FPDF

from ra_desktop import paths

log = logging.getLogger(__name__)

# fpdf2 and fontTools log missing glyphs with the characters themselves: patient names. The
# report counts and shows them instead; keep their chatter out of the app log.
for _name in ("fpdf", "fontTools"):
    logging.getLogger(_name).setLevel(logging.ERROR)

MISSING_MARK = "□"
_ASCII = {"\u2014": "-", "\u2013": "-", "\u2265": ">=", "\u2264": "<=", "\u00b1": "+/-",
          "\u00d7": "x", "\u2026": "...", "\u201c": '"', "\u201d": '"', "\u2018": "'",
          "\u2019": "'", "\u00b7": "-", "\u2192": "->", "\u2212": "-", "\u00a0": " "}
# Debian packages with CJK coverage (fonts-droid-fallback, fonts-noto-cjk, fonts-ipafont-gothic).
_FALLBACK_FONTS = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
)


def font_candidates() -> list[Path]:
    """Folders searched for DejaVuSans.ttf, in order (system, bundle, matplotlib's copy)."""
    dirs = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
            paths.resource("fonts")]
    # matplotlib ships DejaVu on every OS; the installer leaves it out (installer/ra_desktop.spec
    # bundles the two fonts into resources/fonts instead).
    try:
        import matplotlib
        dirs.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:
        pass
    return dirs


def find_unicode_font() -> tuple[Path, Path] | None:
    """Regular and bold DejaVu Sans paths, or ``None`` when no copy is installed."""
    if os.environ.get("RA_DESKTOP_REPORT_CORE_FONT"):  # tests exercise the fallback with this
        return None
    for folder in font_candidates():
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


def fallback_font_candidates() -> tuple[Path, ...]:
    """System fonts tried, in order, for characters DejaVu lacks."""
    return _FALLBACK_FONTS


def to_latin1(text: str) -> str:
    """Map text to Latin-1 for the core fonts: known symbols spelled out, the rest as "?"."""
    for k, v in _ASCII.items():
        text = text.replace(k, v)
    return text.encode("latin-1", "replace").decode("latin-1")


class PdfFonts:
    """The fonts set up on one :class:`FPDF`; :meth:`printable` makes text safe to draw with them."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        fonts = find_unicode_font()
        self.unicode = fonts is not None
        self._fallback: set[int] | None = None  # loaded at the first character DejaVu lacks
        if fonts:
            pdf.add_font("DejaVu", "", str(fonts[0]))
            pdf.add_font("DejaVu", "B", str(fonts[1]))
            self.family = "DejaVu"
            # Regular and bold both: a character is drawable only if either weight can draw it.
            self._drawable = set(pdf.fonts["dejavu"].cmap) & set(pdf.fonts["dejavuB"].cmap)
        else:
            self.family = "Helvetica"
            self._drawable = set()

    @property
    def mark(self) -> str:
        """What an undrawable character is printed as."""
        return MISSING_MARK if self.unicode else "?"

    def can_draw(self, char: str) -> bool:
        if char == "\n":
            return True
        if not self.unicode:
            return char in _ASCII or ord(char) < 256
        return ord(char) in self._drawable or ord(char) in self._fallback_cmap()

    def missing(self, text: str) -> int:
        """How many characters of ``text`` no font here can draw."""
        return sum(not self.can_draw(c) for c in text)

    def printable(self, text: str) -> str:
        """``text`` with each undrawable character replaced by :attr:`mark` (core fonts: Latin-1)."""
        if not self.unicode:
            return to_latin1(text)
        return "".join(c if self.can_draw(c) else MISSING_MARK for c in text)

    def _fallback_cmap(self) -> set[int]:
        if self._fallback is None:
            self._fallback = set()
            path = next((p for p in fallback_font_candidates() if p.is_file()), None)
            if path is not None:
                try:
                    self.pdf.add_font("Fallback", "", str(path))
                    # Bold text falls back to the regular weight: better than a missing character.
                    self.pdf.set_fallback_fonts(["Fallback"], exact_match=False)
                    self._fallback = set(self.pdf.fonts["fallback"].cmap)
                except Exception as exc:  # noqa: BLE001 - a broken system font must not stop a report
                    log.warning("fallback font %s not usable: %s", path, type(exc).__name__)
        return self._fallback
