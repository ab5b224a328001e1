"""The in-memory radiograph; the class lives in :mod:`ra_desktop.values.radiograph`, below every
layer that uses it (results included), and keeps this, its old home."""
from ra_desktop.values.radiograph import Radiograph

__all__ = ["Radiograph"]
