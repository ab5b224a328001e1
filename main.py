"""Launcher from a source checkout (``make run``): the same as ``ra-desktop``.

The frozen app starts from installer/entry.py, which adds ``freeze_support()``.
"""
import sys

from ra_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
