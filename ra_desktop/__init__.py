"""RA Desktop: decision support for reading hand and wrist radiographs for rheumatoid arthritis.

Not a clinical device. The bundled model is trained on synthetic phantoms.
"""
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("ra-desktop")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

APP_NAME = "RA Desktop"
INTENDED_USE = (
    "Decision support for reading posteroanterior hand and wrist radiographs for signs of "
    "rheumatoid arthritis. Research and education use only; not a medical device and not "
    "for clinical diagnosis. The reader remains responsible for every finding."
)
