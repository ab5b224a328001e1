"""``ra-desktop dicom``: DICOM SCU from the command line (echo, find, get, move, send).

NODE is ``AETITLE@host:port`` or the AE title of a node configured in Settings; our calling AE
title is ``dicom_ae_title`` from Settings (``--aet`` overrides it). Exit status: 0 done, 1 the
node answered a failure or some instances failed, 2 the node could not be reached or the
arguments are wrong. Header text printed is cleaned (control characters removed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ra_desktop.dicomnet.nodes import DEFAULT_TIMEOUT_S, DicomNetError, Progress, RemoteNode, echo, resolve_node
from ra_desktop.dicomnet.query import find_studies
from ra_desktop.dicomnet.retrieve import get_studies, move_studies
from ra_desktop.dicomnet.send import send
from ra_desktop.settings import check_ae_title, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--aet", help="our calling AE title (default: the one in Settings)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds for connect, association and each response (default {DEFAULT_TIMEOUT_S:g})")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    node_help = "AETITLE@host:port, or the AE title of a node configured in Settings"

    p = sub.add_parser("echo", help="C-ECHO: test the connection to a node")
    p.add_argument("node", metavar="NODE", help=node_help)

    p = sub.add_parser("find", help="C-FIND: studies on a node")
    p.add_argument("node", metavar="NODE", help=node_help)
    p.add_argument("--patient-id", default="", help="patient ID (* and ? wildcards)")
    p.add_argument("--patient-name", default="", help="patient name, e.g. 'DOE^J*'")
    p.add_argument("--date-from", default=None, help="first study date, YYYY-MM-DD")
    p.add_argument("--date-to", default=None, help="last study date, YYYY-MM-DD")
    p.add_argument("--modality", default="", help="modality in study, e.g. DX or CR")
    p.add_argument("--max", type=int, default=500, dest="max_matches", help="most matches shown (default 500)")
    p.add_argument("--json", action="store_true", help="print a JSON list of studies")

    p = sub.add_parser("get", help="C-GET: retrieve a study into a folder")
    p.add_argument("node", metavar="NODE", help=node_help)
    p.add_argument("study_uids", nargs="+", metavar="STUDY_UID")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to store into")

    p = sub.add_parser("move", help="C-MOVE: have a node send a study to an AE (e.g. our listener)")
    p.add_argument("node", metavar="NODE", help=node_help)
    p.add_argument("study_uids", nargs="+", metavar="STUDY_UID")
    p.add_argument("--dest", required=True, metavar="AET", help="destination AE title, known to the node")

    p = sub.add_parser("send", help="C-STORE: send DICOM files to a node")
    p.add_argument("node", metavar="NODE", help=node_help)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")


def _progress(p: Progress) -> None:
    remaining = "?" if p.remaining is None else str(p.remaining)
    print(f"  {p.completed} done, {p.failed} failed, {remaining} remaining", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        node = resolve_node(args.node, settings)
        calling = check_ae_title(args.aet or settings.dicom_ae_title)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(_ACTIONS[args.action](args, node, calling))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DicomNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _echo(args: argparse.Namespace, node: RemoteNode, calling: str) -> int:
    result = echo(node, calling_aet=calling, timeout=args.timeout)
    print(str(result), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 2


def _find(args: argparse.Namespace, node: RemoteNode, calling: str) -> int:
    matches = find_studies(node, calling_aet=calling, patient_id=args.patient_id, patient_name=args.patient_name,
                           date_from=args.date_from, date_to=args.date_to, modality=args.modality,
                           max_matches=args.max_matches, timeout=args.timeout)
    if args.json:
        print(json.dumps([m.to_dict() for m in matches], indent=2, ensure_ascii=False))
    else:
        rows: list[tuple[Any, ...]] = [("DATE", "PATIENT ID", "NAME", "MOD", "N", "DESCRIPTION", "STUDY UID")]
        rows += [(m.study_date, m.patient_id, m.patient_name, "/".join(m.modalities),
                  "" if m.num_instances is None else m.num_instances, m.description, m.study_uid) for m in matches]
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)) + "  " + str(r[-1]))
    if matches.truncated:
        print(f"more than {args.max_matches} studies match: narrow the query", file=sys.stderr)
    return 0


def _get(args: argparse.Namespace, node: RemoteNode, calling: str) -> int:
    results = get_studies(node, args.study_uids, args.out, calling_aet=calling, progress=_progress,
                          timeout=args.timeout)
    for r in results:
        extra = f" ({r.duplicates} already there)" if r.duplicates else ""
        print(f"{r.study_uid}: {r.completed} instances stored in {args.out}{extra}, {r.failed} failed")
        for reason in r.refused:
            print(f"  refused: {reason}", file=sys.stderr)
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def _move(args: argparse.Namespace, node: RemoteNode, calling: str) -> int:
    results = move_studies(node, args.study_uids, args.dest, calling_aet=calling, progress=_progress,
                           timeout=args.timeout)
    for r in results:
        print(f"{r.study_uid}: {r.completed} instances sent to {args.dest}, {r.failed} failed")
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def _send(args: argparse.Namespace, node: RemoteNode, calling: str) -> int:
    result = send(node, args.files, calling_aet=calling, progress=_progress, timeout=args.timeout)
    for item in result.instances:
        if item.ok:
            print(f"{item.source}: stored (status 0x{item.status:04X})")
        else:
            print(f"{item.source}: FAILED: {item.error}", file=sys.stderr)
    print(f"{result.sent} of {len(result.instances)} stored on {node}")
    return 0 if result.ok else 1


_ACTIONS = {"echo": _echo, "find": _find, "get": _get, "move": _move, "send": _send}
