"""The viewer's compact toolbar, its keyboard shortcuts, the dark style and the viewport badges."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.ui.viewer import _display

STYLE = """
QWidget#viewer { background: #1b1d20; color: #d8dade; }
QWidget#viewer QToolBar { background: #232529; border: 0; spacing: 2px; padding: 2px; }
QWidget#viewer QToolButton { color: #d8dade; padding: 3px 6px; border-radius: 3px; }
QWidget#viewer QToolButton:checked { background: #3a5f8f; }
QWidget#viewer QToolButton:hover { background: #34373d; }
QWidget#viewer QGroupBox { border: 1px solid #34373d; border-radius: 4px; margin-top: 2px; }
QWidget#viewer QLabel#heading { font-weight: bold; font-size: 11pt; }
QWidget#viewer QLabel#caption { color: #ffcf70; font-style: italic; }
QWidget#viewer QLabel#small, QWidget#viewer QLabel#dim { color: #9aa0a8; font-size: 8pt; }
QWidget#viewer QLabel#readout { color: #c8ccd2; font-family: monospace; padding: 2px 6px;
                                background: #232529; }
QWidget#viewer QCheckBox { color: #d8dade; }
QWidget#viewer QCheckBox:disabled, QWidget#viewer QLabel:disabled { color: #6c7078; }
QWidget#viewer QComboBox { background: #2b2e33; color: #d8dade; border: 1px solid #44474d;
                           border-radius: 3px; padding: 1px 6px; }
QWidget#viewer QComboBox:disabled { color: #8a8f96; }
QWidget#viewer QComboBox QAbstractItemView { background: #2b2e33; color: #d8dade;
                                             selection-background-color: #3a5f8f; }
QWidget#viewer QToolBar::separator { background: #44474d; width: 1px; margin: 4px 4px; }
QLabel#badge { color: white; background: rgba(20, 20, 20, 190); border: 1px solid #888;
               border-radius: 4px; padding: 3px 8px; font-weight: bold; font-size: 15pt; }
QLabel#badge[mirrored="true"] { background: rgba(150, 70, 0, 220); border-color: #ffb040; }
QLabel#corner { color: #e0e0e0; background: rgba(0, 0, 0, 140); padding: 2px 6px;
                font-family: monospace; font-size: 9pt; }
"""

# (key sequence, widget method name, args) — documented in the toolbar tooltips too.
SHORTCUTS = [
    ("1", "apply_preset", ("dicom",)), ("2", "apply_preset", ("auto",)),
    ("3", "apply_preset", ("bone",)), ("4", "apply_preset", ("full",)),
    ("[", "step_window", (0, 1 / 1.15)), ("]", "step_window", (0, 1.15)),
    ("-", "step_window", (-1, 1.0)), ("=", "step_window", (1, 1.0)),
    ("Ctrl+Left", "step_window", (0, 1 / 1.15)), ("Ctrl+Right", "step_window", (0, 1.15)),
    ("Ctrl+Down", "step_window", (-1, 1.0)), ("Ctrl+Up", "step_window", (1, 1.0)),
    ("I", "toggle_invert", ()), ("R", "rotate", (90,)), ("Shift+R", "rotate", (-90,)),
    ("H", "toggle_flip_h", ()), ("V", "toggle_flip_v", ()),
    ("F", "fit", ()), ("0", "one_to_one", ()), ("M", "toggle_magnifier", ()),
    ("W", "use_window_tool", ()), ("P", "use_pan_tool", ()), ("D", "use_measure_tool", ()),
    ("K", "use_mark_tool", ()),
    ("Delete", "clear_measurements", ()), ("Escape", "use_window_tool", ()),
    ("Ctrl+Shift+0", "reset_view", ()),
]


def build_toolbar(viewer) -> tuple[QtWidgets.QToolBar, dict[str, QtGui.QAction]]:
    bar = QtWidgets.QToolBar(viewer)
    bar.setIconSize(QtCore.QSize(16, 16))
    bar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
    actions: dict[str, QtGui.QAction] = {}

    def add(key: str, text: str, tip: str, slot, checkable: bool = False) -> QtGui.QAction:
        act = bar.addAction(text)
        act.setToolTip(tip)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        actions[key] = act
        return act

    tools = QtGui.QActionGroup(bar)
    for key, text, tip, slot in (("window", "W/L", "Window/level: left-drag, ↔ width, ↕ level (W)", viewer.use_window_tool),
                                 ("pan", "Pan", "Pan: left-drag (P); middle-drag or Space+drag always pan", viewer.use_pan_tool),
                                 ("measure", "Measure", "Distance: left-drag a line (D)", viewer.use_measure_tool),
                                 ("mark", "Markers", "Joint markers of the score sheet: click to place the "
                                  "selected area's marker, drag one to correct it (K)", viewer.use_mark_tool)):
        tools.addAction(add(key, text, tip, slot, checkable=True))
    actions["window"].setChecked(True)
    add("clear", "Clear", "Clear measurements (Delete)", viewer.clear_measurements)
    bar.addSeparator()
    presets = QtWidgets.QComboBox(bar)
    presets.setToolTip("Window presets (keys 1–4)")
    for i, name in enumerate(_display.PRESETS, start=1):
        presets.addItem(f"{i} {_display.PRESET_LABELS[name]}", name)
    presets.activated.connect(lambda idx: viewer.apply_preset(presets.itemData(idx)))
    bar.addWidget(presets)
    add("invert", "Invert", "Invert grey scale (I)", viewer.toggle_invert, checkable=True)
    bar.addSeparator()
    add("fit", "Fit", "Fit to window (F)", viewer.fit)
    add("1:1", "1:1", "One image pixel per screen pixel (0)", viewer.one_to_one)
    add("rot_ccw", "⟲", "Rotate 90° counter-clockwise, display only (Shift+R)", lambda: viewer.rotate(-90))
    add("rot_cw", "⟳", "Rotate 90° clockwise, display only (R)", lambda: viewer.rotate(90))
    add("flip_h", "Flip H", "Mirror left–right, display only (H)", viewer.toggle_flip_h, checkable=True)
    add("flip_v", "Flip V", "Mirror top–bottom, display only (V)", viewer.toggle_flip_v, checkable=True)
    add("loupe", "Loupe", "Magnifier following the cursor (M)", viewer.toggle_magnifier, checkable=True)
    add("reset", "Reset", "Reset window, orientation and zoom (Ctrl+Shift+0)", viewer.reset_view)
    bar.addSeparator()
    add("layers", "Layers", "Show or hide the AI layer panel", viewer.toggle_layer_panel, checkable=True)
    actions["layers"].setChecked(True)
    viewer._preset_combo = presets
    return bar, actions


def install_shortcuts(viewer) -> None:
    viewer.shortcuts = []
    for seq, method, args in SHORTCUTS:
        sc = QtGui.QShortcut(QtGui.QKeySequence(seq), viewer)
        # Window-wide: after a click in the worklist the image keys still work. Text fields and
        # the score sheet claim their own keys first (ShortcutOverride).
        sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(lambda m=method, a=args: getattr(viewer, m)(*a))
        viewer.shortcuts.append(sc)


def scope_shortcuts_to_viewer(viewer) -> None:
    """For a window with several viewers (comparison): keys act on the one with focus."""
    for sc in getattr(viewer, "shortcuts", ()):
        sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)


class ViewportBadges(QtCore.QObject):
    """Laterality badge (top-left) and a W/L-zoom corner text (bottom-left) over the viewport."""

    def __init__(self, viewport: QtWidgets.QWidget) -> None:
        super().__init__(viewport)
        self.viewport = viewport
        self.badge = QtWidgets.QLabel(viewport)
        self.badge.setObjectName("badge")
        self.corner = QtWidgets.QLabel(viewport)
        self.corner.setObjectName("corner")
        for w in (self.badge, self.corner):
            w.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            w.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        viewport.installEventFilter(self)

    def set_orientation(self, text: str, mirrored: bool, tooltip: str) -> None:
        self.badge.setText(text)
        self.badge.setToolTip(tooltip)
        self.badge.setProperty("mirrored", "true" if mirrored else "false")
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.adjustSize()
        self._place()

    def set_corner(self, text: str) -> None:
        self.corner.setText(text)
        self.corner.adjustSize()
        self._place()

    def set_visible(self, on: bool) -> None:
        self.badge.setVisible(on)
        self.corner.setVisible(on)

    def _place(self) -> None:
        self.badge.move(10, 10)
        self.corner.move(8, self.viewport.height() - self.corner.height() - 8)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:
            self._place()
        return False
