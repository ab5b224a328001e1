"""View > DICOM tags: every element of the open study's header, searchable.

The header is whatever its sender wrote, so it is read as the loader reads it: under the loader's
element budget (nested sequence items counted), without the pixel data, with values longer than
``DEFER_BYTES`` left on disk (their length is shown, never the bytes). What is shown is plain
text: control characters and bidirectional overrides removed, each value cut to
``VALUE_CHARS`` characters (the tooltip holds up to ``TOOLTIP_CHARS``, escaped), binary values
summarised, and at most ``MAX_ROWS`` rows, so a hostile header cannot hang the window or fill
its memory. Reading runs on a thread of its own; the dialog fills when it is done.

:func:`read_tags` is plain Python (no Qt), :class:`TagDialog` the window, :func:`show_tags` the
menu's entry point.
"""
from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHeaderView, QLabel, QLineEdit, QMessageBox, QTreeView, QVBoxLayout,
)

from ra_desktop.io import _detect, _header_limits
from ra_desktop.io._header_limits import TooManyElements, cap_text_elements, element_budget
from ra_desktop.textsafe import clean, shorten
from ra_desktop.ui import plain

VALUE_CHARS = 160  # a cell's value
TOOLTIP_CHARS = 2000  # the same value in its tooltip
MAX_ROWS = 20_000  # rows shown (elements and sequence items); the rest are counted, not shown
MAX_DEPTH = 16  # sequences nested deeper are summarised
DEFER_BYTES = 64 * 1024  # values longer than this stay on disk: their length is shown
HEX_BYTES = 16  # binary values up to this long are shown as hex
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
_PIXEL_TAGS = {0x7FE00008, 0x7FE00009, 0x7FE00010}
_SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Tag", "Keyword", "VR", "Value")


@dataclass
class TagRow:
    """One element (or sequence item) as shown: every field is display text."""

    tag: str
    keyword: str
    vr: str
    value: str
    private: bool = False
    full_value: str = ""  # the longer text for the tooltip, when ``value`` was cut
    children: list[TagRow] = field(default_factory=list)


@dataclass
class TagListing:
    """What the dialog shows for one file."""

    rows: list[TagRow] = field(default_factory=list)
    message: str = ""  # when there is nothing to list: why (not DICOM, unreadable, refused)
    notes: list[str] = field(default_factory=list)
    elements: int = 0  # elements listed (nested ones included)
    private: int = 0
    not_shown: int = 0  # rows past MAX_ROWS


def _text(value: object, limit: int) -> str:
    return shorten(clean(value), limit)


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class _Lister:
    """Walks a parsed header into :class:`TagRow` s, within the row budget."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.listing = TagListing()
        self.rows_made = 0

    def dataset(self, ds, depth: int) -> list[TagRow]:
        rows = []
        for tag in sorted(ds.keys()):
            if self.rows_made >= self.max_rows:
                self.listing.not_shown += 1
                continue
            rows.append(self.element(ds, tag, depth))
        return rows

    def element(self, ds, tag, depth: int) -> TagRow:
        from pydicom.datadict import dictionary_VR, keyword_for_tag
        from pydicom.dataelem import RawDataElement

        self.rows_made += 1
        self.listing.elements += 1
        tag_int = int(tag)
        private = bool(tag.is_private)
        self.listing.private += private
        raw = ds.get_item(tag)
        vr = str(raw.VR or "") if raw is not None else ""
        if not vr:
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                vr = "UN"
        keyword = self._keyword(ds, tag) if private else (keyword_for_tag(tag) or "(unknown public tag)")
        row = TagRow(_tag_text(tag_int), keyword, vr, "", private)
        length = getattr(raw, "length", None)
        if isinstance(raw, RawDataElement) and raw.value is None and vr != "SQ":  # deferred: stays on disk
            row.value = f"{length:,} bytes, not read" if length is not None else "not read"
            return row
        if tag_int in _PIXEL_TAGS:
            row.value = f"pixel data, {length:,} bytes, not shown" if length else "pixel data, not shown"
            return row
        if vr in _BINARY_VRS and isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
            row.value = self._binary(raw.value)  # never decoded: bytes are bytes
            return row
        try:
            elem = ds[tag]
        except Exception as exc:  # noqa: BLE001 - a malformed value is listed as such
            row.value = f"unreadable ({type(exc).__name__})"
            return row
        row.vr = str(elem.VR or vr)
        if row.vr == "SQ":
            items = list(elem.value or ())
            row.value = f"sequence of {len(items)} item{'s' if len(items) != 1 else ''}"
            if depth >= MAX_DEPTH:
                row.value += f", nested deeper than {MAX_DEPTH}: not shown"
                return row
            for i, item in enumerate(items, 1):
                if self.rows_made >= self.max_rows:
                    self.listing.not_shown += 1 + len(item)
                    continue
                self.rows_made += 1
                child = TagRow("", f"Item {i}", "", f"{len(item)} element{'s' if len(item) != 1 else ''}")
                child.children = self.dataset(item, depth + 1)
                row.children.append(child)
            return row
        value = elem.value
        if isinstance(value, (bytes, bytearray)):
            row.value = self._binary(bytes(value))
            return row
        if value is None or value == "":
            row.value = ""
            return row
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            values = list(value)
            text = "\\".join(_text(v, TOOLTIP_CHARS) for v in values[:200])
            if len(values) > 200:
                text += f" … ({len(values):,} values)"
        else:
            text = _text(value, TOOLTIP_CHARS + 1)
        row.value = shorten(text, VALUE_CHARS)
        if row.value != text:
            row.full_value = shorten(text, TOOLTIP_CHARS)
        return row

    @staticmethod
    def _keyword(ds, tag) -> str:
        from pydicom.datadict import private_dictionary_description

        element = tag.element
        if 0x0010 <= element <= 0x00FF:
            return "Private creator"
        if element < 0x0010:
            return "Private (reserved)"
        creator_tag = (tag.group << 16) | (element >> 8)
        creator = ""
        try:
            if creator_tag in ds:
                creator = _text(ds[creator_tag].value, 64)
        except Exception:  # noqa: BLE001 - an unreadable creator: "unknown creator"
            creator = ""
        if not creator:
            return "Private (no creator)"
        try:
            name = private_dictionary_description(tag, str(ds[creator_tag].value))
        except Exception:  # noqa: BLE001 - KeyError for a tag pydicom does not know
            name = ""
        return f"Private: {_text(name, 64)} [{creator}]" if name else f"Private [{creator}]"

    @staticmethod
    def _binary(data: bytes) -> str:
        if len(data) <= HEX_BYTES:
            return f"{len(data)} byte{'s' if len(data) != 1 else ''}: {data.hex(' ')}" if data else "0 bytes"
        return f"{len(data):,} bytes (binary, not shown)"


def read_tags(path: str | Path, max_rows: int = MAX_ROWS) -> TagListing:
    """List the DICOM header of ``path`` for display.

    Parameters
    ----------
    path : str or Path
        An image file of the worklist (DICOM, or a PNG/JPEG/... which has no tags).
    max_rows : int
        Rows listed at most; the rest are counted in ``not_shown``.

    Returns
    -------
    TagListing
        Rows, or a ``message`` saying why there are none. Never raises for a bad file.
    """
    import pydicom

    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        return TagListing(message=f"The file cannot be read: {_text(exc.strerror or type(exc).__name__, 200)}.")
    kind = _detect.sniff(head)
    if kind not in (_detect.DICOM, "DICOM?", _detect.UNKNOWN):
        return TagListing(message=f"No DICOM tags: this is a {kind} image, which has no DICOM header.")
    lister = _Lister(max_rows)
    try:
        # The loader's budget holds while the elements are converted too: a defined-length
        # sequence is parsed only when its element is first read.
        with warnings.catch_warnings(), element_budget(_header_limits.MAX_ELEMENTS):
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, defer_size=DEFER_BYTES,
                                 force=kind != _detect.DICOM)
            if len(ds) == 0 and not getattr(ds, "file_meta", None):
                return TagListing(message="No DICOM tags: this file is not DICOM.")
            cut = cap_text_elements(ds)  # text values as the loader keeps them (VR maximum length)
            rows = lister.dataset(ds.file_meta, 0) if getattr(ds, "file_meta", None) else []
            rows += lister.dataset(ds, 0)
    except TooManyElements:
        return TagListing(message=f"Refused: more than {_header_limits.MAX_ELEMENTS:,} data elements in the header "
                                  "(a radiograph has a few hundred; corrupt or hostile file).")
    except (MemoryError, RecursionError) as exc:
        return TagListing(message=f"Refused: the header is too large or nested too deeply ({type(exc).__name__}).")
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on bad bytes
        return TagListing(message=f"No DICOM tags: not a readable DICOM file ({type(exc).__name__}).")
    listing = lister.listing
    listing.rows = rows
    if cut:
        listing.notes.append("Cut to their VR's maximum length, as the loader reads them: " + ", ".join(
            f"{_text(name, 64)} ({kept:,} characters)" for name, kept in cut[:10]) + ("…" if len(cut) > 10 else "")
            + ".")
    listing.notes.append("Pixel data is not read here; binary values are summarised.")
    if listing.not_shown:
        listing.notes.insert(0, f"{listing.not_shown:,} more element(s) not shown: the first {max_rows:,} rows "
                                "are listed.")
    return listing


# --- the dialog ------------------------------------------------------------------------------

class _Relay(QObject):
    done = Signal(object)


class _TagFilter(QSortFilterProxyModel):
    """Rows whose tag, keyword, VR or value contain the search text; their parents stay."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.needle = ""
        self.setRecursiveFilteringEnabled(True)

    def set_needle(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+ (invalidateFilter is deprecated there)
            self.beginFilterChange()
            self.needle = text.strip().lower()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.needle = text.strip().lower()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802 - Qt's name
        if not self.needle:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        return self.needle in (index.data(_SEARCH_ROLE) or "")


def _items(row: TagRow) -> list[QStandardItem]:
    cells = [QStandardItem(row.tag), QStandardItem(row.keyword), QStandardItem(row.vr), QStandardItem(row.value)]
    for cell in cells:
        cell.setEditable(False)
    if row.full_value:
        cells[3].setToolTip(plain.tooltip(row.full_value))  # tooltips guess rich text: escaped
    if row.private:
        for cell in cells:
            cell.setForeground(Qt.GlobalColor.darkYellow)
    key = " ".join((row.tag, row.tag.strip("()").replace(",", ""), row.keyword, row.vr,
                    row.full_value or row.value))
    cells[0].setData(key.lower(), _SEARCH_ROLE)
    for child in row.children:
        cells[0].appendRow(_items(child))
    return cells


class TagDialog(QDialog):
    """The header of one file as a tree (sequences expandable) with a search box."""

    loaded = Signal()

    def __init__(self, path: str | Path, parent=None, *, max_rows: int = MAX_ROWS) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.listing: TagListing | None = None
        self.setWindowTitle(f"DICOM tags — {shorten(clean(self.path.name), 80)}")
        self.resize(900, 640)
        self.summary = QLabel("Reading the header…")
        self.search = QLineEdit(placeholderText="Search tag, keyword or value (e.g. 0010,0010, PatientName, CR)")
        self.search.setClearButtonEnabled(True)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = _TagFilter(self)
        self.proxy.setSourceModel(self.model)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)  # fast with many rows
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col, width in enumerate((170, 250, 40)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setObjectName("dim")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.search)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.notes)
        lay.addWidget(buttons)
        plain.plain_children(self)  # file names and header text: never markup
        self.search.textChanged.connect(self.set_search)
        self.search.setEnabled(False)
        self._relay = _Relay(self)
        self._relay.done.connect(self._show)
        relay, path = self._relay, self.path

        def work() -> None:  # off the GUI thread: a large header takes a while to parse
            listing = read_tags(path, max_rows)
            try:
                relay.done.emit(listing)  # queued to the GUI thread
            except RuntimeError:  # the dialog was closed meanwhile
                pass

        threading.Thread(target=work, name="tag-viewer", daemon=True).start()

    def set_search(self, text: str) -> None:
        self.proxy.set_needle(text)
        if self.proxy.needle:
            self.tree.expandAll()  # matches inside sequences are seen without opening each
        self._count()

    def visible_rows(self) -> list[tuple[str, str, str, str]]:
        """(tag, keyword, VR, value) of every row the filter lets through, depth first (tests)."""
        out = []

        def walk(parent) -> None:
            for r in range(self.proxy.rowCount(parent)):
                out.append(tuple(self.proxy.index(r, c, parent).data() or "" for c in range(len(COLUMNS))))
                walk(self.proxy.index(r, 0, parent))

        walk(self.tree.rootIndex())
        return out

    def _show(self, listing: TagListing) -> None:
        self.listing = listing
        if listing.message:
            self.summary.setText(listing.message)
            self.tree.hide()
            self.search.hide()
        else:
            root = self.model.invisibleRootItem()
            for row in listing.rows:
                root.appendRow(_items(row))
            self.search.setEnabled(True)
            self._count()
        self.notes.setText(" ".join(listing.notes))
        self.loaded.emit()

    def _count(self) -> None:
        listing = self.listing
        if listing is None or listing.message:
            return
        text = f"{listing.elements:,} elements, {listing.private:,} private"
        if self.proxy.needle:
            text += f" · {self.proxy.rowCount():,} top-level rows match"
        self.summary.setText(f"{clean(self.path.name)}: {text}")


def show_tags(window) -> TagDialog | None:
    """View > DICOM tags…: the open study's header in a dialog (None when no case is open)."""
    row_id = getattr(window, "current_row_id", None)
    row = window.store.get(row_id) if row_id is not None else None
    if row is None:
        plain.message(window, QMessageBox.Icon.Information, "DICOM tags", "Open a case first.")
        return None
    old = getattr(window, "_tag_dialog", None)
    if old is not None:
        try:
            old.close()  # one tag window at a time: the open study's
        except RuntimeError:  # already deleted (closed by the reader)
            pass
    dialog = TagDialog(row.path, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window._tag_dialog = dialog
    dialog.show()
    return dialog
