"""PyInstaller runtime hook: runs in the frozen app before ``installer/entry.py``.

The install folder must stay unchanged (it may be read-only, e.g. Program Files): never write
``__pycache__`` next to the ``.py`` sources that are bundled for torch (collected as pyz+py).
"""
import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
