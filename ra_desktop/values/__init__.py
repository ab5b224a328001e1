"""Plain value types shared by every layer (no torch, no Qt): the loaded radiograph and the map
between the model's input grid and the image. Below io and preprocess, which re-export them from
their old homes, so :mod:`ra_desktop.results` needs nothing above this package."""
from ra_desktop.values.geometry import Geometry
from ra_desktop.values.radiograph import Radiograph

__all__ = ["Geometry", "Radiograph"]
