"""The Radiogrammetry tab: MC2-4 cortical values, mean MCI, joint space widths, the profile across
the selected bone, the change since the prior study, and the reader's corrections: a bone's two
ends, a joint's two points (on the joint, and on the finger beyond it).

A value is shown only when its result is valid; a rejected one shows "—" and why. The profile
plot is a plain QPainter widget (no pyqtgraph: the CPU installer excludes it and its archive is
near its size limit; one line and four markers need no plotting library).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from ra_desktop.measure.definitions import JSW_JOINTS
from ra_desktop.measure.results import NOTICE

BONES = ("MC2", "MC3", "MC4")
JOINTS = tuple(sorted(JSW_JOINTS, key=lambda s: (s[:3] != "MCP", s)))  # MCP2-5, then PIP2-5
_OUTER, _INNER, _INK, _GRID = QColor(255, 170, 40), QColor(80, 220, 255), QColor(220, 220, 220), QColor(90, 90, 90)
_BAD = QColor(255, 110, 110)


def value_text(v: float | None, unit: str, ratio: bool = False) -> str:
    """A length in its unit (mm 2 decimals, px 1), a ratio with 3; "—" when there is none."""
    if v is None:
        return "—"
    if ratio:
        return f"{v:.3f}"
    return f"{v:.2f}" if unit == "mm" else f"{v:.1f}"


def status_text(res, corrected_by: str | None = None, what: str = "ends") -> str:
    if not res.valid:
        return f"not valid: {res.reason}"
    who = f"{what} placed by {corrected_by}" if corrected_by else res.source
    return f"valid · {who}"


class ProfilePlot(QWidget):
    """Grey value across the shaft (mean of the region's profiles) with W and M marked."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.data: tuple | None = None  # (x, y, W, M, unit, title)
        self.message = "Select a measured bone to see its profile"

    def set_profile(self, x, y, W: float | None, M: float | None, unit: str, title: str) -> None:
        self.data = (np.asarray(x, float), np.asarray(y, float), W, M, unit, title)
        self.update()

    def clear(self, message: str) -> None:
        self.data, self.message = None, message
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(25, 25, 28))
        p.setPen(_INK)
        if self.data is None:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        x, y, W, M, unit, title = self.data
        good = np.isfinite(y)
        if good.sum() < 2:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No profile")
            return
        area = QRectF(40, 20, max(self.width() - 50, 10), max(self.height() - 44, 10))
        x0, x1 = float(x.min()), float(x.max())
        y0, y1 = float(np.nanmin(y)), float(np.nanmax(y))
        y1 = y1 if y1 > y0 else y0 + 1

        def pt(xv, yv) -> QPointF:
            return QPointF(area.left() + (xv - x0) / (x1 - x0) * area.width(),
                           area.bottom() - (yv - y0) / (y1 - y0) * area.height())

        p.setPen(QPen(_GRID, 1))
        p.drawRect(area)
        p.drawText(QRectF(0, 0, self.width(), 18), Qt.AlignmentFlag.AlignCenter, title)
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), 18), Qt.AlignmentFlag.AlignCenter,
                   f"distance from the shaft's centre ({unit})")
        p.drawText(QRectF(area.left() - 4, area.bottom() + 2, 60, 18), Qt.AlignmentFlag.AlignLeft, f"{x0:.1f}")
        p.drawText(QRectF(area.right() - 56, area.bottom() + 2, 60, 18), Qt.AlignmentFlag.AlignRight, f"{x1:.1f}")
        p.save()
        p.translate(12, area.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-60, -10, 120, 20), Qt.AlignmentFlag.AlignCenter, "grey value")
        p.restore()
        for half, colour, name in ((W, _OUTER, "W"), (M, _INNER, "M")):
            if half is None:
                continue
            p.setPen(QPen(colour, 1, Qt.PenStyle.DashLine))
            for s in (-half / 2, half / 2):
                if x0 <= s <= x1:
                    p.drawLine(pt(s, y0), pt(s, y1))
            p.drawText(pt(half / 2, y1) + QPointF(3, 12), name)
        path = QPainterPath()
        first = True
        for xv, yv in zip(x[good], y[good]):
            (path.moveTo if first else path.lineTo)(pt(xv, yv))
            first = False
        p.setPen(QPen(_INK, 1.5))
        p.drawPath(path)


def _table(headers: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    h = t.horizontalHeader()
    for i in range(len(headers) - 1):
        h.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
    h.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    t.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setWordWrap(False)
    return t


class MeasurePanel(QWidget):
    bone_selected = Signal(str)
    joint_selected = Signal(str)
    joint_toggled = Signal(bool)  # "Place joint": drag the selected joint's two points
    show_toggled = Signal(bool)
    correct_toggled = Signal(bool)
    revert_requested = Signal(str)
    measure_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hand = None
        self.selected = "MC3"
        self.selected_joint = "MCP2"
        self.corrected: dict[str, str] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.notice = QLabel(NOTICE, wordWrap=True, objectName="muted")
        self.status = QLabel("Open a case", wordWrap=True)
        top = QHBoxLayout()
        self.show_check = QCheckBox("Show on image")
        self.show_check.setChecked(True)
        self.show_check.setToolTip("Measurement regions, periosteal (orange) and endosteal (blue) edges, joint lines")
        self.show_check.toggled.connect(self.show_toggled)
        self.measure_button = QPushButton("Measure again")
        self.measure_button.setToolTip("Measure this image automatically again (keeps the ends you placed)")
        self.measure_button.clicked.connect(self.measure_requested)
        top.addWidget(self.show_check)
        top.addStretch(1)
        top.addWidget(self.measure_button)
        self.bones = _table(("Bone", "W", "M", "T", "MCI", "Status"))
        self.bones.itemSelectionChanged.connect(self._on_bone_row)
        self.mean_label = QLabel("")
        self.joints = _table(("Joint", "JSW min", "JSW mean", "Status"))
        self.joints.itemSelectionChanged.connect(self._on_joint_row)
        self.joint_detail = QLabel("", wordWrap=True, objectName="muted")
        joint_buttons = QHBoxLayout()
        self.joint_button = QPushButton("Place joint")
        self.joint_button.setCheckable(True)
        self.joint_button.setToolTip("Drag the selected joint's two points on the image: the first onto the joint "
                                     "space, the second onto the finger beyond it; values follow")
        self.joint_button.toggled.connect(self.joint_toggled)
        self.joint_revert_button = QPushButton("Use automatic")
        self.joint_revert_button.setToolTip("Undo your placement of this joint")
        self.joint_revert_button.clicked.connect(lambda: self.revert_requested.emit(self.selected_joint))
        joint_buttons.addWidget(self.joint_button)
        joint_buttons.addWidget(self.joint_revert_button)
        joint_buttons.addStretch(1)
        self.detail = QLabel("", wordWrap=True, objectName="muted")
        buttons = QHBoxLayout()
        self.correct_button = QPushButton("Place bone ends")
        self.correct_button.setCheckable(True)
        self.correct_button.setToolTip("Drag the two ends of the selected metacarpal on the image; values follow")
        self.correct_button.toggled.connect(self.correct_toggled)
        self.revert_button = QPushButton("Use automatic")
        self.revert_button.setToolTip("Undo your placement of this bone's ends")
        self.revert_button.clicked.connect(lambda: self.revert_requested.emit(self.selected))
        buttons.addWidget(self.correct_button)
        buttons.addWidget(self.revert_button)
        buttons.addStretch(1)
        self.plot = ProfilePlot()
        self.progression = QLabel("", wordWrap=True)
        for w in (self.notice, self.status):
            lay.addWidget(w)
        lay.addLayout(top)
        lay.addWidget(self.bones)
        lay.addWidget(self.mean_label)
        lay.addLayout(buttons)
        lay.addWidget(self.detail)
        lay.addWidget(self.plot)
        lay.addWidget(self.joints)
        lay.addLayout(joint_buttons)
        lay.addWidget(self.joint_detail)
        lay.addWidget(self.progression)
        lay.addStretch(1)
        for label in (self.notice, self.status, self.detail, self.joint_detail, self.progression, self.mean_label):
            label.setTextFormat(Qt.TextFormat.PlainText)  # reasons and dates: never markup
        self.show_result(None)

    # ---- content ---------------------------------------------------------------------------------
    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def show_result(self, hand, corrected: dict[str, str] | None = None) -> None:
        self.hand, corrected = hand, corrected or {}
        self.corrected = corrected
        unit = hand.unit if hand else "mm"
        self.bones.setHorizontalHeaderLabels(("Bone", f"W {unit}", f"M {unit}", f"T {unit}", "MCI", "Status"))
        self.joints.setHorizontalHeaderLabels(("Joint", f"min {unit}", f"mean {unit}", "Status"))
        self.bones.blockSignals(True)
        self.bones.setRowCount(len(BONES))
        for i, name in enumerate(BONES):
            b = hand.bones.get(name) if hand else None
            cells = (name, *(value_text(getattr(b, k), unit) if b else "" for k in "WMT"),
                     value_text(b.MCI, unit, ratio=True) if b else "",
                     status_text(b, corrected.get(name)) if b else "not measured")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if b is not None and not b.valid and j == 5:
                    item.setForeground(_BAD)
                item.setToolTip(text)
                self.bones.setItem(i, j, item)
        self.bones.selectRow(BONES.index(self.selected))
        self.bones.blockSignals(False)
        if hand is None:
            self.mean_label.setText("")
        elif hand.mean_MCI is not None:
            self.mean_label.setText(f"Mean MCI (MC2–4): {hand.mean_MCI:.3f}")
        else:
            self.mean_label.setText("Mean MCI: — (needs all three metacarpals valid: place the ends of "
                                    f"{', '.join(hand.needs_manual) or 'the rejected bones'})")
        # Every joint has a row once the hand was looked at (one not found can still be placed).
        self.joints.blockSignals(True)
        self.joints.setRowCount(len(JOINTS) if hand else 0)
        for i, name in enumerate(JOINTS if hand else ()):
            j = hand.joints.get(name)
            cells = ((name, value_text(j.minimum, unit), value_text(j.mean, unit),
                      status_text(j, corrected.get(name), "points")) if j else (name, "", "", "not measured"))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j is not None and not j.valid and col == 3:
                    item.setForeground(_BAD)
                item.setToolTip(text)
                self.joints.setItem(i, col, item)
        if hand:
            self.joints.selectRow(JOINTS.index(self.selected_joint))
        self.joints.blockSignals(False)
        self._update_detail()
        self._update_joint_detail()

    def _on_bone_row(self) -> None:
        rows = self.bones.selectionModel().selectedRows()
        if rows:
            self.selected = BONES[rows[0].row()]
            self._update_detail()
            self.bone_selected.emit(self.selected)

    def select_bone(self, name: str) -> None:
        self.bones.selectRow(BONES.index(name))

    def _on_joint_row(self) -> None:
        rows = self.joints.selectionModel().selectedRows()
        if rows and rows[0].row() < len(JOINTS):
            self.selected_joint = JOINTS[rows[0].row()]
            self._update_joint_detail()
            self.joint_selected.emit(self.selected_joint)

    def select_joint(self, name: str) -> None:
        if self.joints.rowCount():
            self.joints.selectRow(JOINTS.index(name))
        else:
            self.selected_joint = name
            self.joint_selected.emit(name)

    def _update_joint_detail(self) -> None:
        name = self.selected_joint
        j = self.hand.joints.get(name) if self.hand else None
        place = ("Press “Place joint” and drag its two points on the image: the first onto the joint space, "
                 "the second onto the finger beyond it (toward the next joint).")
        if self.hand is None:
            self.joint_detail.setText("")
        elif j is None:
            self.joint_detail.setText(f"{name}: not measured. {place}")
        elif not j.valid:
            self.joint_detail.setText(f"{name} not valid: {j.reason}. No width is given. {place}")
        else:
            who = (f"points placed by {self.corrected[name]} (“Use automatic” undoes it)" if name in self.corrected
                   else f"{j.source}; to correct it, press “Place joint”")
            self.joint_detail.setText(f"{name}: minimum and mean over the lines across the joint's central 40% · "
                                      f"{who}.")

    def _update_detail(self) -> None:
        b = self.hand.bones.get(self.selected) if self.hand else None
        if b is None:
            self.detail.setText("")
        elif b.valid:
            spread = b.spread or {}
            sd = f" · spread of MCI over the profiles {spread['MCI']:.3f}" if "MCI" in spread else ""
            self.detail.setText(f"{self.selected}: {b.n_profiles} profiles between 40% and 60% of the bone's "
                                f"length{sd}.")
        else:
            self.detail.setText(f"{self.selected} not valid: {b.reason}. Press “Place bone ends” and drag its two "
                                "ends (base and head) on the image.")

    def set_progression(self, lines: list[str]) -> None:
        self.progression.setText("\n".join(lines))
