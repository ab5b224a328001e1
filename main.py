"""Launcher used from a source checkout and frozen by PyInstaller: the same as ``ra-desktop``."""
import sys

from ra_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
