"""Text from a file or the network shown as text, never as markup.

Qt guesses whether a label, tooltip or message box holds HTML (``Qt.AutoText``): a Patient ID
such as ``<span style='color:green'>Signed off</span>`` would be rendered. Labels that show such
text are set to plain text; where a label or tooltip needs markup of its own, the values are
escaped first.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def escape(text: object) -> str:
    """``text`` made safe to put inside rich text: markup characters become entities."""
    return html.escape(str(text), quote=True)


def tooltip(text: str | None) -> str | None:
    """A tooltip that shows ``text`` literally (tooltips are always guessed, so force rich + escape)."""
    if not text:
        return None
    return f"<p style='white-space:pre-wrap'>{escape(text)}</p>"


def make_plain(*labels: QLabel) -> None:
    for label in labels:
        label.setTextFormat(Qt.TextFormat.PlainText)


def plain_children(widget: QWidget, *, except_: tuple[QLabel, ...] = ()) -> None:
    """Every QLabel under ``widget`` shows plain text, but those listed (they escape their values)."""
    make_plain(*(label for label in widget.findChildren(QLabel) if label not in except_))


def message(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> None:
    """A modal message box whose text (a file's name, a reason from a file) is plain."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()
