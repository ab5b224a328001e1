"""``ra-desktop`` entry point: the GUI by default, subcommands for headless work.

Each subcommand lives in its own module ``ra_desktop.cli.<name>`` with ``add_arguments(parser)``
and ``run(args) -> int``. Modules are imported only when their command runs, so ``--help`` and
the GUI start without loading torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ra_desktop import __version__, paths
from ra_desktop.cli.terminal import escaped_output

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("ra_desktop.cli.gui", "open the workstation (default when no command is given)"),
    "inspect": ("ra_desktop.cli.inspect", "describe image files as a PACS administrator would"),
    "predict": ("ra_desktop.cli.predict", "RA probability for image files, headless"),
    "measure": ("ra_desktop.cli.measure", "radiogrammetry: metacarpal cortical index and joint space widths"),
    "phantom": ("ra_desktop.cli.phantom", "generate synthetic hand radiographs with known lesions"),
    "train": ("ra_desktop.cli.train", "train a model folder from RA/ and Normal/ images or a CSV"),
    "evaluate": ("ra_desktop.cli.evaluate", "metrics with confidence intervals, ROC, calibration"),
    "explain-eval": ("ra_desktop.cli.explain_eval", "measure Grad-CAM and SHAP faithfulness"),
    "report": ("ra_desktop.cli.report", "write one PDF report per study, headless"),
    "self-test": ("ra_desktop.cli.self_test", "offline check: model, analysis, report"),
    "atlas": ("ra_desktop.cli.atlas", "teaching handout: each RA marker at each severity on a phantom hand (PDF)"),
    "scores": ("ra_desktop.cli.scores", "Sharp/van der Heijde scores: phantom truth, reader agreement"),
    "listen": ("ra_desktop.cli.listen", "DICOM store SCP: receive images into the worklist, headless"),
    "export-dicom": ("ra_desktop.cli.export_dicom", "results as DICOM: SR, Secondary Capture, Encapsulated PDF"),
    "dicom": ("ra_desktop.cli.dicom", "DICOM SCU: echo, query, retrieve from and send to configured nodes"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ra-desktop",
        description="RA Desktop: decision support for hand radiographs (not for clinical use).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # Arguments are added lazily: only the chosen command's module is imported.
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:  # the frozen app's documented flag
        argv[0] = "self-test"
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["gui", *argv]  # `ra-desktop [GUI OPTIONS] FOLDER` opens the GUI
    parser = build_parser()
    if argv[0] in COMMANDS:
        # Before a command imports matplotlib or Qt: their caches go to the user cache folder too.
        paths.redirect_library_caches()
        module = importlib.import_module(COMMANDS[argv[0]][0])
        sub = argparse.ArgumentParser(prog=f"ra-desktop {argv[0]}", description=COMMANDS[argv[0]][1])
        module.add_arguments(sub)
        args = sub.parse_args(argv[1:])
        if argv[0] == "gui":
            return int(module.run(args) or 0)
        with escaped_output():  # tags and file names are printed: never as terminal commands
            return int(module.run(args) or 0)
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
