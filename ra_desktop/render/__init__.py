"""Pure-numpy rendering shared by the viewer and the PDF report (no Qt here)."""
from ra_desktop.render.colormaps import lut, names
from ra_desktop.render.greyscale import apply_window, auto_window, to_uint8
from ra_desktop.render.overlay import blend, colorbar, colorize, unseen_mask_rgba, value_range

__all__ = ["apply_window", "auto_window", "blend", "colorbar", "colorize", "lut", "names",
           "to_uint8", "unseen_mask_rgba", "value_range"]
