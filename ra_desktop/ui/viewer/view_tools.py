"""The viewer's reading-software tools (issue 23): corner text from the header, copy and export of
the view, and the image's right-click menu.

Copy and export take what is on screen: a grab of the viewport at screen resolution (not a
full-resolution render of the scene), with or without the corner text and the annotations. With
File > "De-identify exported reports" on, the patient and study corners are always left out.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.textsafe import clean, shorten
from ra_desktop.ui import plain
from ra_desktop.ui.viewer import _display
from ra_desktop.ui.viewer._toolbar import keys_for

OVERLAY_CHARS = 40  # a value longer than this is cut with "…" (a header may hold anything)
EXPORT_FILTERS = "PNG image (*.png);;JPEG image (*.jpg *.jpeg)"


def _value(text: object) -> str:
    return shorten(" ".join(clean(text).split()), OVERLAY_CHARS) if text else ""


def _date(yyyymmdd: str | None) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}" if yyyymmdd else ""


def _person(name: str | None) -> str:
    """DICOM PN "Family^Given^Middle" as "Family, Given Middle"."""
    if not name:
        return ""
    family, _, rest = str(name).partition("^")
    rest = " ".join(p for p in rest.split("^") if p.strip())
    return f"{family}, {rest}" if family and rest else (family or rest)


def corner_texts(r) -> dict[str, str]:
    """Top-left (patient) and top-right (study) text, and bottom-right (image size), of radiograph ``r``."""
    if r is None:
        return {"top_left": "", "top_right": "", "bottom_right": ""}
    patient = [_value(_person(r.patient_name)), _value(f"ID {r.patient_id}" if r.patient_id else ""),
               _value(f"Born {_date(r.patient_birth_date)}" if r.patient_birth_date else "")]
    side = {"L": "Left", "R": "Right"}.get((r.laterality or "").upper(), "")
    view = " ".join(v for v in (side, _value(r.view_position), _value(r.body_part)) if v)
    study = [_value(_date(r.study_date)), _value(r.study_description), view]
    spacing = (f"   {r.pixel_spacing_mm[1]:.3g} × {r.pixel_spacing_mm[0]:.3g} mm/px"
               if r.pixel_spacing_mm else "")
    image = f"{r.width} × {r.height} px{spacing}   {r.format}"
    return {"top_left": "\n".join(t for t in patient if t), "top_right": "\n".join(t for t in study if t),
            "bottom_right": image}


def deidentified(viewer) -> bool:
    """Whether exports leave patient text out: the viewer's own setting when given, else the
    window's File > "De-identify exported reports" (looked up the parent chain: a comparison
    window's viewers follow the main window's setting)."""
    if getattr(viewer, "deidentify_exports", None) is not None:
        return bool(viewer.deidentify_exports)
    w = viewer
    while w is not None:
        settings = getattr(w, "settings", None)
        if settings is not None and hasattr(settings, "deidentify_reports"):
            return bool(settings.deidentify_reports)
        w = w.parentWidget()
    return False


def _annotation_items(viewer) -> list[QtWidgets.QGraphicsItem]:
    """Scene items drawn over the image by the reader or the tools: measurements, markers,
    annotations, radiogrammetry, ground truth. The greyscale image, the AI maps and the
    unseen-region hatch are the picture itself and stay."""
    keep = {viewer.image_item, viewer.seen_item()}
    keep |= {viewer.layer_item(name) for name in getattr(viewer, "_layers", {})}
    return [i for i in viewer.scene.items() if i.parentItem() is None and i not in keep]


def grab_view(viewer, *, overlays: bool = True, annotations: bool = True) -> QtGui.QPixmap:
    """The viewport as on screen, at screen resolution. ``overlays``: the laterality badge and
    the corner text (the patient and study corners never when de-identified); ``annotations``:
    the items of :func:`_annotation_items`. The loupe is never in it."""
    badges = viewer.badges
    deid = deidentified(viewer)
    changed: list[tuple[object, bool]] = []

    def show(obj, on: bool) -> None:
        if obj.isVisible() != on:
            changed.append((obj, obj.isVisible()))
            obj.setVisible(on)

    show(viewer.view.loupe, False)
    has_image = viewer.radiograph is not None
    show(badges.badge, overlays and has_image)
    for name, label in badges.corners.items():
        patient = name in badges.PATIENT_CORNERS
        show(label, overlays and has_image and bool(label.text()) and not (patient and deid))
    if not annotations:
        for item in _annotation_items(viewer):
            show(item, False)
    try:
        return viewer.view.viewport().grab()
    finally:
        for obj, was in reversed(changed):
            obj.setVisible(was)


def copy_view(viewer, *, overlays: bool | None = None, annotations: bool = True) -> QtGui.QImage:
    """Put the view on the clipboard (overlays as on screen unless told) and return it."""
    if overlays is None:
        overlays = viewer.badges.text_shown
    image = grab_view(viewer, overlays=overlays, annotations=annotations).toImage()
    QtWidgets.QApplication.clipboard().setImage(image)
    return image


def export_view(viewer, path: str | Path, *, overlays: bool = True, annotations: bool = True) -> Path:
    """Write the view as PNG or JPEG (by the suffix; none means PNG). Returns the path written."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        path = path.with_name(path.name + ".png")
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    pixmap = grab_view(viewer, overlays=overlays, annotations=annotations)
    if not pixmap.save(str(path), fmt, 95 if fmt == "JPEG" else -1):
        raise OSError(f"could not write {path}")
    return path


class ExportOptions(QtWidgets.QDialog):
    """What goes into an exported view: the text overlays, the annotations."""

    def __init__(self, viewer) -> None:
        super().__init__(viewer)
        self.setWindowTitle("Export view")
        lay = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel("The image area as it is on screen, at screen resolution.")
        intro.setWordWrap(True)
        self.overlays = QtWidgets.QCheckBox("Text overlays (laterality, window, zoom; patient and study text)")
        self.overlays.setChecked(viewer.badges.text_shown)
        self.annotations = QtWidgets.QCheckBox("Annotations, measurements and markers")
        self.annotations.setChecked(True)
        lay.addWidget(intro)
        lay.addWidget(self.overlays)
        lay.addWidget(self.annotations)
        if deidentified(viewer):
            note = QtWidgets.QLabel("De-identified exports are on: patient and study text is left out.")
            note.setWordWrap(True)
            lay.addWidget(note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


def ask_export_options(viewer) -> tuple[bool, bool] | None:
    dlg = ExportOptions(viewer)
    if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
        return None
    return dlg.overlays.isChecked(), dlg.annotations.isChecked()


def export_view_dialog(viewer) -> Path | None:
    """Ask what to include and where, then write the view. None when cancelled or no image."""
    if viewer.radiograph is None:
        return None
    options = ask_export_options(viewer)
    if options is None:
        return None
    path, _ = QtWidgets.QFileDialog.getSaveFileName(viewer, "Export view", "view.png", EXPORT_FILTERS)
    if not path:
        return None
    try:
        return export_view(viewer, path, overlays=options[0], annotations=options[1])
    except OSError as exc:

        plain.message(viewer, QtWidgets.QMessageBox.Icon.Warning, "Export view", str(exc))
        return None


def _item(menu: QtWidgets.QMenu, text: str, method: str | None, slot, args: tuple = (),
          checked: bool | None = None) -> QtGui.QAction:
    keys = keys_for(method, args) if method else ""
    act = menu.addAction(f"{text}\t{keys}" if keys else text)
    if checked is not None:
        act.setCheckable(True)
        act.setChecked(checked)
    act.triggered.connect(lambda _=False: slot())
    return act


def context_menu(viewer) -> QtWidgets.QMenu:
    """The image's right-click menu: the common actions, each with its key."""
    menu = QtWidgets.QMenu(viewer)
    has_image = viewer.radiograph is not None
    presets = menu.addMenu("Window preset")
    for name in _display.PRESETS:
        _item(presets, _display.PRESET_LABELS[name], "apply_preset", lambda n=name: viewer.apply_preset(n), (name,))
    _item(menu, "Invert", "toggle_invert", viewer.toggle_invert, checked=viewer.is_inverted())
    menu.addSeparator()
    _item(menu, "Rotate right", "rotate", lambda: viewer.rotate(90), (90,))
    _item(menu, "Rotate left", "rotate", lambda: viewer.rotate(-90), (-90,))
    _item(menu, "Flip left–right", "toggle_flip_h", viewer.toggle_flip_h, checked=viewer.view.flip_h)
    _item(menu, "Flip top–bottom", "toggle_flip_v", viewer.toggle_flip_v, checked=viewer.view.flip_v)
    _item(menu, "Fit to window", "fit", viewer.fit)
    _item(menu, "1:1 (one image pixel per screen pixel)", "one_to_one", viewer.one_to_one)
    menu.addSeparator()
    _item(menu, "Loupe", "toggle_magnifier", viewer.toggle_magnifier, checked=viewer.view.loupe.enabled_by_user)
    _item(menu, "Measure distance", "use_measure_tool", viewer.use_measure_tool)
    _item(menu, "Place joint markers", "use_mark_tool", viewer.use_mark_tool)
    if hasattr(viewer, "use_annotation_tool"):  # viewer/annotations.py
        annotate = menu.addMenu("Annotate")
        for kind, text in (("arrow", "Arrow"), ("text", "Text"), ("angle", "Angle (three clicks)"),
                           ("roi_rect", "Rectangle ROI"), ("roi_ellipse", "Ellipse ROI")):
            _item(annotate, text, "use_annotation_tool", lambda k=kind: viewer.use_annotation_tool(k), (kind,))
        _item(annotate, "Delete the selected annotation", "delete_selected", viewer.delete_selected)
    _item(menu, "Text overlays", "toggle_overlays", viewer.toggle_overlays, checked=viewer.badges.text_shown)
    menu.addSeparator()
    _item(menu, "Copy view", "copy_view", viewer.copy_view)
    _item(menu, "Copy view without text overlays", None, lambda: viewer.copy_view(overlays=False))
    _item(menu, "Export view…", "export_view_dialog", viewer.export_view_dialog)
    menu.addSeparator()
    _item(menu, "Reset window, orientation and zoom", "reset_view", viewer.reset_view)
    for act in menu.actions():  # the presets submenu too
        act.setEnabled(has_image)
    return menu


def show_context_menu(viewer, pos: QtCore.QPoint) -> QtWidgets.QMenu:
    menu = context_menu(viewer)
    menu.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    viewer.last_context_menu = menu  # for tests and the accessibility tree
    menu.popup(viewer.view.viewport().mapToGlobal(pos))
    return menu
