"""``ra-desktop gui [PATH...]``: open the workstation, optionally on files or folders."""
from __future__ import annotations

import argparse

from ra_desktop.app import main


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="image files or folders to add to the worklist")
    parser.add_argument("--model", help="model folder (default: settings, else the bundled model)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="override the device setting")


def run(args: argparse.Namespace) -> int:
    return main(list(args.paths), model_dir=args.model, device=args.device)
