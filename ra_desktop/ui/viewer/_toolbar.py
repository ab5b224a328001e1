"""The viewer's compact toolbar, its keyboard shortcuts, the dark style and the viewport badges."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.ui.viewer import _display, icons

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
QWidget#viewer QToolButton[active="true"] { background: #3a5f8f; }
QWidget#viewer QToolButton::menu-button { width: 12px; }
QWidget#viewer QToolButton#qt_toolbar_ext_button { background: #8a5a00; border: 1px solid #ffb040;
                                                   min-width: 14px; }
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
    ("A", "use_annotation_tool", ("arrow",)), ("T", "use_annotation_tool", ("text",)),
    ("G", "use_annotation_tool", ("angle",)), ("B", "use_annotation_tool", ("roi_rect",)),
    ("E", "use_annotation_tool", ("roi_ellipse",)),
    ("Delete", "delete_selected", ()), ("Escape", "use_window_tool", ()),
    ("Ctrl+Shift+0", "reset_view", ()), ("O", "toggle_overlays", ()),
    ("Ctrl+C", "copy_view", ()), ("Ctrl+Shift+S", "export_view_dialog", ()),
]


def keys_for(method: str, args: tuple = ()) -> str:
    """The key(s) of a viewer method, as the shortcut sheet, tooltips and context menu show them."""
    return " or ".join(seq for seq, m, a in SHORTCUTS if m == method and a == tuple(args))


def tip(text: str, method: str | None, args: tuple = ()) -> str:
    keys = keys_for(method, args) if method else ""
    return f"{text} ({keys})" if keys else text


def _menu_button(bar: QtWidgets.QToolBar, icon_name: str, tip_text: str, menu: QtWidgets.QMenu,
                 default: QtGui.QAction | None = None) -> QtWidgets.QToolButton:
    """A tool button with a menu: a click runs ``default`` (or opens the menu), its arrow the menu."""
    button = QtWidgets.QToolButton(bar)
    if default is not None:
        button.setDefaultAction(default)
        button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    else:
        button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setIcon(icons.icon(icon_name))
    button.setToolTip(tip_text)
    button.setMenu(menu)
    button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
    bar.addWidget(button)
    return button


def build_toolbar(viewer) -> tuple[QtWidgets.QToolBar, dict[str, QtGui.QAction]]:
    """Icon buttons in groups (tools | window | view | output | layers), each tooltip with its key.

    Flip and copy/export sit behind a button with a menu, so the whole bar fits the narrowest
    image area (about 870 px at 1280×720) and nothing falls into the overflow menu.
    """
    bar = QtWidgets.QToolBar(viewer)
    bar.setObjectName("viewerToolbar")
    bar.setIconSize(QtCore.QSize(18, 18))
    bar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
    actions: dict[str, QtGui.QAction] = {}

    def make(key: str, text: str, tip_text: str, slot, checkable: bool = False, icon: str | None = None,
             on_bar: bool = True) -> QtGui.QAction:
        act = QtGui.QAction(icons.icon(icon or key), text, bar)
        act.setToolTip(tip_text)
        act.setStatusTip(tip_text)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        actions[key] = act
        if on_bar:
            bar.addAction(act)
        return act

    tools = QtGui.QActionGroup(bar)
    for key, text, tip_text, method in (
            ("window", "W/L", "Window/level: left-drag, ↔ width, ↕ level", "use_window_tool"),
            ("pan", "Pan", "Pan: left-drag; middle-drag or Space+drag always pan", "use_pan_tool"),
            ("measure", "Measure", "Distance: left-drag a line", "use_measure_tool"),
            ("mark", "Markers", "Joint markers of the score sheet: click to place the selected area's marker, "
                                "drag one to correct it", "use_mark_tool")):
        tools.addAction(make(key, text, tip(tip_text, method), getattr(viewer, method), checkable=True))
    actions["window"].setChecked(True)
    make("clear", "Clear", tip("Clear measurements", "delete_selected"), viewer.clear_measurements)
    bar.addSeparator()
    presets = QtWidgets.QComboBox(bar)
    presets.setToolTip("Window presets (keys 1–4)")
    for i, name in enumerate(_display.PRESETS, start=1):
        presets.addItem(f"{i} {_display.PRESET_LABELS[name]}", name)
    presets.activated.connect(lambda idx: viewer.apply_preset(presets.itemData(idx)))
    bar.addWidget(presets)
    make("invert", "Invert", tip("Invert grey scale", "toggle_invert"), viewer.toggle_invert, checkable=True)
    bar.addSeparator()
    make("fit", "Fit", tip("Fit to window", "fit"), viewer.fit)
    make("1:1", "1:1", tip("One image pixel per screen pixel", "one_to_one"), viewer.one_to_one)
    make("rot_ccw", "Rotate left", tip("Rotate 90° counter-clockwise, display only", "rotate", (-90,)),
         lambda: viewer.rotate(-90))
    make("rot_cw", "Rotate right", tip("Rotate 90° clockwise, display only", "rotate", (90,)),
         lambda: viewer.rotate(90))
    flip_menu = QtWidgets.QMenu(bar)
    for key, text, method in (("flip_h", "Flip left–right", "toggle_flip_h"),
                              ("flip_v", "Flip top–bottom", "toggle_flip_v")):
        act = make(key, text, tip(f"{text}, display only", method), getattr(viewer, method), checkable=True,
                   on_bar=False)
        act.setText(f"{text}\t{keys_for(method)}")
        flip_menu.addAction(act)
    flip_button = _menu_button(bar, "flip", "Flip left–right (H) or top–bottom (V), display only", flip_menu)
    flip_button.setObjectName("flipButton")

    def show_flipped() -> None:  # the button says when either flip is on
        flip_button.setProperty("active", "true" if actions["flip_h"].isChecked() or actions["flip_v"].isChecked()
                                else "false")
        flip_button.style().unpolish(flip_button)
        flip_button.style().polish(flip_button)
    actions["flip_h"].toggled.connect(show_flipped)
    actions["flip_v"].toggled.connect(show_flipped)
    make("loupe", "Loupe", tip("Magnifier following the cursor", "toggle_magnifier"), viewer.toggle_magnifier,
         checkable=True)
    make("reset", "Reset", tip("Reset window, orientation and zoom", "reset_view"), viewer.reset_view)
    bar.addSeparator()
    make("overlays", "Text overlays", tip("Patient, study and window text in the image corners", "toggle_overlays"),
         viewer.toggle_overlays, checkable=True)
    actions["overlays"].setChecked(True)
    out_menu = QtWidgets.QMenu(bar)
    for key, text, method, slot in (
            ("copy", "Copy view", "copy_view", viewer.copy_view),
            ("copy_plain", "Copy view without text overlays", None, lambda: viewer.copy_view(overlays=False)),
            ("export", "Export view…", "export_view_dialog", viewer.export_view_dialog)):
        act = make(key, text, tip(text + (" (as on screen)" if key == "copy" else ""), method), slot, on_bar=False)
        keys = keys_for(method) if method else ""
        act.setText(f"{text}\t{keys}" if keys else text)
        out_menu.addAction(act)
    _menu_button(bar, "copy", "Copy the view to the clipboard (Ctrl+C); the arrow: without text overlays, "
                              "or export as PNG/JPEG (Ctrl+Shift+S)", out_menu, default=actions["copy"])
    bar.addSeparator()
    make("layers", "Layers", "Show or hide the AI layer panel", viewer.toggle_layer_panel, checkable=True)
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
    """What reading software prints over the image: the laterality badge (top centre) and text in
    the four corners (patient top-left, study top-right, window and zoom bottom-left, image size
    and spacing bottom-right). The corner text can be hidden (key O); the badge stays, so a
    mirrored hand never passes silently. Header text is plain text, cleaned and cut.
    """

    CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
    PATIENT_CORNERS = ("top_left", "top_right")  # what a de-identified export leaves out

    def __init__(self, viewport: QtWidgets.QWidget) -> None:
        super().__init__(viewport)
        self.viewport = viewport
        self.badge = QtWidgets.QLabel(viewport)
        self.badge.setObjectName("badge")
        self.corners: dict[str, QtWidgets.QLabel] = {}
        for name in self.CORNERS:
            label = QtWidgets.QLabel(viewport)
            label.setObjectName("corner")
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight if name.endswith("right")
                               else QtCore.Qt.AlignmentFlag.AlignLeft)
            self.corners[name] = label
        self.corner = self.corners["bottom_left"]  # window, level and zoom
        for w in (self.badge, *self.corners.values()):
            w.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            w.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.has_image = False
        self.text_shown = True
        viewport.installEventFilter(self)

    def labels(self) -> list[QtWidgets.QLabel]:
        return [self.badge, *self.corners.values()]

    def set_orientation(self, text: str, mirrored: bool, tooltip: str) -> None:
        self.badge.setText(text)
        self.badge.setToolTip(tooltip)
        self.badge.setProperty("mirrored", "true" if mirrored else "false")
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.adjustSize()
        self._place()

    def set_corner(self, text: str, corner: str = "bottom_left") -> None:
        label = self.corners[corner]
        if label.text() != text:
            label.setText(text)
            label.adjustSize()
        self._show()
        self._place()

    def set_visible(self, on: bool) -> None:
        self.has_image = bool(on)
        self._show()

    def set_text_shown(self, on: bool) -> None:
        self.text_shown = bool(on)
        self._show()

    def _show(self) -> None:
        self.badge.setVisible(self.has_image)
        for label in self.corners.values():
            label.setVisible(self.has_image and self.text_shown and bool(label.text()))

    def _place(self) -> None:
        vp_w, vp_h, m = self.viewport.width(), self.viewport.height(), 8
        self.badge.move(max((vp_w - self.badge.width()) // 2, m), 10)
        self.badge.raise_()  # over any corner text in a narrow view
        c = self.corners
        half = max(vp_w // 2 - m - 4, 40)  # a narrow view (comparison) cuts the text, never overlaps it
        for label in c.values():
            hint = label.sizeHint()
            label.resize(min(hint.width(), half), hint.height())
        c["top_left"].move(m, m)
        c["top_right"].move(vp_w - c["top_right"].width() - m, m)
        c["bottom_left"].move(m, vp_h - c["bottom_left"].height() - m)
        c["bottom_right"].move(vp_w - c["bottom_right"].width() - m, vp_h - c["bottom_right"].height() - m)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:
            self._place()
        return False
