"""Frozen entry point: the same as ``ra-desktop`` (``ra_desktop.cli.main``).

``freeze_support`` first: a frozen executable re-runs itself for multiprocessing children (torch
DataLoader workers during ``ra-desktop train``), and without it each child would start the app.
A command that this variant leaves out (see ``ra_desktop_build.json``, written by the spec) is
refused with a clear message instead of an ImportError deep inside it.
"""
import json
import multiprocessing
import os
import sys


def _omitted_command(argv):
    info = os.path.join(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)), "ra_desktop_build.json")
    try:
        with open(info, encoding="utf-8") as fh:
            build = json.load(fh)
    except (OSError, ValueError):
        return None, None
    command = argv[1] if len(argv) > 1 else None
    return (command if command in build.get("omitted_commands", []) else None), build.get("variant")


if __name__ == "__main__":
    multiprocessing.freeze_support()
    command, variant = _omitted_command(sys.argv)
    if command:
        print(f"ra-desktop {command}: not included in the {variant} installer, which is made for "
              "reading radiographs (GUI, predict, report, inspect, phantom, --self-test). Run "
              f"'{command}' from a source checkout (see README) or the full installer.",
              file=sys.stderr)
        sys.exit(2)
    from ra_desktop.cli import main

    sys.exit(main())
