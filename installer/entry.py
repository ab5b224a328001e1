"""Frozen entry point: the same as ``ra-desktop`` (``ra_desktop.cli.main``).

``freeze_support`` first: a frozen executable re-runs itself for multiprocessing children (torch
DataLoader workers during ``ra-desktop train``), and without it each child would start the app.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ra_desktop.cli import main

    sys.exit(main())
