"""The reading room's panels: the worklist and the side panel collapse and come back (F2, F3),
and reading mode (F11) leaves only the image and a one-line findings strip, full screen.

A collapsed panel keeps its width for when it comes back; the splitter's state, collapsed panels
included, is what ui/layout.py saves.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QSplitter, QToolBar

from ra_desktop.ui import plain

WORKLIST, IMAGE, SIDE = 0, 1, 2


class Panels(QObject):
    def __init__(self, window: QMainWindow, splitter: QSplitter, strip: QLabel) -> None:
        super().__init__(window)
        self.window, self.splitter, self.strip = window, splitter, strip
        plain.make_plain(strip)
        strip.setWordWrap(True)  # a long line wraps; it never widens the window past the screen
        strip.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        strip.hide()
        self._widths = {WORKLIST: 400, SIDE: 360}
        self._before_reading: dict | None = None
        self._strip_timer = QTimer(self, interval=250)
        self._strip_timer.timeout.connect(self.refresh_strip)
        self._pending_sizes: list[int] | None = None
        splitter.splitterMoved.connect(lambda *_: self.sync_actions())
        splitter.installEventFilter(self)
        for i in (WORKLIST, SIDE):
            splitter.setCollapsible(i, True)

    def adopt_layer_controls(self, viewer, tabs) -> None:
        """The viewer's AI layer controls become a side tab: the image keeps their 240 px. The
        viewer's Layers button then shows that tab."""
        controls = getattr(viewer, "controls", None)
        action = getattr(viewer, "actions", {}).get("layers")
        if controls is None or action is None:
            return
        controls.setMinimumWidth(0)
        controls.setMaximumWidth(16777215)
        self._layers_tab = tabs.addTab(controls, "Layers")
        self._tabs = tabs
        controls.show()
        action.setCheckable(False)
        action.triggered.disconnect()
        action.triggered.connect(self.show_layers)
        action.setToolTip("The AI layers (Grad-CAM, SHAP, ground truth): visibility, opacity, colours")

    def show_layers(self) -> None:
        self.set_shown(SIDE, True)
        self._tabs.setCurrentIndex(self._layers_tab)

    # ---- panels ------------------------------------------------------------------------------------
    def shown(self, index: int) -> bool:
        return self.splitter.sizes()[index] > 0

    def set_shown(self, index: int, on: bool) -> None:
        sizes = self.splitter.sizes()
        if on == (sizes[index] > 0):
            return
        if on:
            want = max(self._widths[index], self.splitter.widget(index).minimumSizeHint().width())
            sizes[IMAGE] = max(1, sizes[IMAGE] - want)
            sizes[index] = want
        else:
            self._widths[index] = sizes[index]
            sizes[IMAGE] += sizes[index]
            sizes[index] = 0
        self.splitter.setSizes(sizes)
        self.sync_actions()

    def toggle_worklist(self) -> None:
        self.set_shown(WORKLIST, not self.shown(WORKLIST))

    def toggle_side(self) -> None:
        self.set_shown(SIDE, not self.shown(SIDE))

    def show_side(self) -> None:
        self.set_shown(SIDE, True)

    def search_worklist(self) -> None:
        if self.reading:
            self.toggle_reading_mode()
        self.set_shown(WORKLIST, True)
        self.window.worklist.focus_search()

    def step_case(self, step: int) -> None:
        """Open the next (1) or previous (-1) case in the worklist's order, visible or not."""
        self.window.worklist.step(step)

    def sync_actions(self) -> None:
        w = self.window
        for name, index in (("worklist_action", WORKLIST), ("side_action", SIDE)):
            act = getattr(w, name, None)
            if act is not None:
                act.setChecked(self.shown(index))
        if getattr(w, "reading_action", None) is not None:
            w.reading_action.setChecked(self.reading)

    # ---- reading mode ------------------------------------------------------------------------------
    @property
    def reading(self) -> bool:
        return self._before_reading is not None

    def toggle_reading_mode(self) -> None:
        w = self.window
        if self._before_reading is None:
            bars = [tb for tb in w.findChildren(QToolBar) if tb.isVisible()]
            self._before_reading = dict(sizes=self.splitter.sizes(), bars=bars, state=w.windowState(),
                                        geometry=w.normalGeometry() if w.isMaximized() else w.geometry(),
                                        menu=w.menuBar().isVisible(), status=w.statusBar().isVisible())
            for tb in bars:
                tb.hide()
            w.menuBar().hide()
            w.statusBar().hide()
            sizes = self.splitter.sizes()
            self.splitter.setSizes([0, sum(sizes), 0])
            self.strip.show()
            self.refresh_strip()
            self._strip_timer.start()
            screen = w.screen().geometry()
            w.setGeometry(screen)  # where no window manager handles full screen (a kiosk, Xvfb)
            w.showFullScreen()
        else:
            before, self._before_reading = self._before_reading, None
            self._strip_timer.stop()
            self.strip.hide()
            for tb in before["bars"]:
                tb.show()
            w.menuBar().setVisible(before["menu"])
            w.statusBar().setVisible(before["status"])
            w.setWindowState(before["state"])
            if not before["state"] & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
                w.setGeometry(before["geometry"])
            # the panels come back at their widths once the window is its old size again
            self._restore_panels(before["sizes"])
            self._pending_sizes = before["sizes"]
        self.sync_actions()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize and self._pending_sizes is not None and not self.reading:
            sizes, self._pending_sizes = self._pending_sizes, None
            QTimer.singleShot(0, lambda: self._restore_panels(sizes))
        return False

    def _restore_panels(self, sizes: list[int]) -> None:
        total = sum(self.splitter.sizes())
        self.splitter.setSizes([sizes[WORKLIST], max(1, total - sizes[WORKLIST] - sizes[SIDE]), sizes[SIDE]])
        self.sync_actions()

    def refresh_strip(self) -> None:
        self.strip.setText(self.window.findings.summary() + "   ·   F11 leaves reading mode")
