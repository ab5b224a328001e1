"""PyInstaller hook for torchvision; replaces pyinstaller-hooks-contrib's (hookspath hooks win).

torchvision >= 0.29 ships its compiled operators (nms, roi_align, ...) as ``_C_stable.so`` (and
image decoding as ``image_stable.so``): plain shared libraries built against torch's stable ABI,
loaded with ``torch.ops.load_library`` from ``torchvision/extension.py``, not imported. PyInstaller's
import analysis never sees them, and the contrib hook still names the old extension module
``torchvision._C``, which no longer exists. Without the library, ``extension.py`` swallows the
load failure and ``torchvision/_meta_registrations.py`` then stops ``import torchvision`` with
"operator torchvision::nms does not exist": the full installer's frozen app failed this way.
``tests/test_installer_hooks.py`` checks this list against what torchvision's sources load.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

# Extensions of the libraries torchvision opens with torch.ops.load_library, per platform.
_LIBRARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")


def torchvision_libraries() -> list[Path]:
    """The compiled libraries at the top of the installed torchvision package."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(list(spec.submodule_search_locations)[0])
    return sorted(p for p in package.iterdir() if p.is_file() and p.suffix in _LIBRARY_SUFFIXES)


# Their own dependencies (torchvision.libs: libcudart, libnvjpeg, libjpeg...) are found by
# PyInstaller's binary dependency analysis through the libraries' RPATH.
binaries = [(str(p), "torchvision") for p in torchvision_libraries()]

# TorchScript and torch.fx read Python sources at run time (as the contrib hook did).
module_collection_mode = "pyz+py"
