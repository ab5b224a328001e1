"""Radiogrammetry of worklist cases (MC2-4 cortical index, MCP/PIP joint space widths) in the
worklist database, with each value's validity and reason, the method version, and the reader's
corrections. No Qt.

One row per case and site (``MC2``... ``MCP2``... ``PIP2``...) in ``measurements``, one row per
case in ``measurement_runs`` (whether the hand was measurable, why not, unit, spacing). A site the
reader corrected (a metacarpal's ends, or a joint's two points -- on the joint and on the finger beyond
it -- placed by hand) has ``source`` "manual", the reader's name in ``corrected_by``, the placed
points in ``ends_json``, and keeps the automatic result it replaced
in ``automatic_json`` so the correction can be undone. Rejected results carry no number.

Every call is one short transaction, as in :mod:`ra_desktop.worklist.store`. The tables (their
SQL in :mod:`ra_desktop.worklist.schema`) are created by the store when it opens a database
(schema 4); an older file gains them then, its cases, scores and markers untouched.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ra_desktop.measure.definitions import JSW_JOINTS, MCI_BONES, METHOD_VERSION
from ra_desktop.measure.results import BoneResult, Check, HandResult, JointResult, ProfileEdges

if TYPE_CHECKING:
    from ra_desktop.worklist.store import WorklistStore


def _pt(p) -> tuple[float, float]:
    return float(p[0]), float(p[1])


def bone_from_dict(d: dict) -> BoneResult:
    """A BoneResult back from its ``to_dict()`` (JSON turns tuples into lists)."""
    d = dict(d)
    d["ends"] = tuple(_pt(p) for p in d["ends"]) if d.get("ends") else None
    d["region"] = tuple(_pt(p) for p in d["region"]) if d.get("region") else None
    d["edges"] = tuple(ProfileEdges(_pt(e["centre"]), tuple(_pt(p) for p in e["outer"]),
                                    tuple(_pt(p) for p in e["inner"])) for e in d.get("edges") or ())
    d["checks"] = tuple(Check(**c) for c in d.get("checks") or ())
    return BoneResult(**d)


def joint_from_dict(d: dict) -> JointResult:
    d = dict(d)
    d["centre"] = _pt(d["centre"]) if d.get("centre") else None
    d["axis"] = _pt(d["axis"]) if d.get("axis") else None
    d["lines"] = tuple((_pt(a), _pt(b)) for a, b in d.get("lines") or ())
    d["checks"] = tuple(Check(**c) for c in d.get("checks") or ())
    d["toward"] = _pt(d["toward"]) if d.get("toward") else None  # stored before the field existed: None
    return JointResult(**d)


def result_from_dict(kind: str, d: dict):
    """A stored result back: ``kind`` is the row's "bone" or "joint"."""
    return bone_from_dict(d) if kind == "bone" else joint_from_dict(d)


def with_bone(hand: HandResult, bone: BoneResult) -> HandResult:
    """``hand`` with one metacarpal's result replaced (a manual correction): the mean MCI and the
    bones still needing the reader follow."""
    bones = {**hand.bones, bone.bone: bone}
    mci = [bones[k].MCI for k in MCI_BONES if k in bones and bones[k].valid]
    return replace(hand, bones=bones, mean_MCI=round(sum(mci) / len(mci), 5) if len(mci) == len(MCI_BONES) else None,
                   needs_manual=tuple(k for k in MCI_BONES if not (k in bones and bones[k].valid)),
                   measurable=hand.measurable or bone.valid)


def with_joint(hand: HandResult, joint: JointResult) -> HandResult:
    """``hand`` with one joint's result replaced (the reader's placement), in the usual order."""
    joints = {**hand.joints, joint.joint: joint}
    return replace(hand, joints={k: joints[k] for k in sorted(joints, key=lambda s: (s[:3] != "MCP", s))},
                   measurable=hand.measurable or joint.valid)


@dataclass(frozen=True)
class StoredMeasurement:
    """A case's radiogrammetry as stored: the results, when and with which method, who corrected what."""

    hand: HandResult
    method_version: str
    measured_at: float
    corrected_by: dict[str, str] = field(default_factory=dict)  # site -> reader who placed its ends / points

    @property
    def current(self) -> bool:
        """Measured with this version of the method (else measure again)."""
        return self.method_version == METHOD_VERSION


class MeasurementBook:
    """Radiogrammetry of every case, kept in ``store``'s database."""

    def __init__(self, store: WorklistStore) -> None:
        self.store = store

    def save_hand(self, row_id: int, hand: HandResult) -> None:
        """Store an automatic measurement of the whole hand. Sites the reader corrected keep the
        reader's result; the automatic result under them is updated."""
        now = time.time()
        con = self.store._con()
        manual = {s for (s,) in con.execute("SELECT site FROM measurements WHERE case_row=? AND source='manual'",
                                            (row_id,))}
        with con:
            con.execute(
                "INSERT OR REPLACE INTO measurement_runs (case_row, method_version, measurable, reason, unit,"
                " spacing_mm, thumb_side, notes_json, seconds, measured_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (row_id, METHOD_VERSION, int(hand.measurable), hand.reason, hand.unit, hand.spacing_mm,
                 hand.thumb_side, json.dumps(list(hand.notes)), float(hand.seconds), now))
            con.execute("DELETE FROM measurements WHERE case_row=? AND source<>'manual'", (row_id,))
            for site, res in [*hand.bones.items(), *hand.joints.items()]:
                if site in manual:
                    con.execute("UPDATE measurements SET automatic_json=? WHERE case_row=? AND site=?",
                                (json.dumps(res.to_dict()), row_id, site))
                else:
                    self._put(con, row_id, res, None, None, now)

    def set_manual_bone(self, row_id: int, result: BoneResult, reader: str) -> None:
        """The reader placed a metacarpal's ends: store that result (valid or not) with the ends
        and who placed them; the automatic result stays underneath."""
        if result.bone not in MCI_BONES:
            raise ValueError(f"no measured metacarpal {result.bone!r}")
        self._set_manual(row_id, result.bone, result, reader)

    def set_manual_joint(self, row_id: int, result: JointResult, reader: str) -> None:
        """The reader placed a joint's two points (on the joint, on the finger beyond it): store
        that result (valid or not) with the points and who placed them; the automatic result (if
        any) stays underneath for "Use automatic"."""
        if result.joint not in JSW_JOINTS:
            raise ValueError(f"no measured joint {result.joint!r}")
        self._set_manual(row_id, result.joint, result, reader)

    def _set_manual(self, row_id: int, site: str, result, reader: str) -> None:
        con = self.store._con()
        prev = con.execute("SELECT source, result_json, automatic_json FROM measurements WHERE case_row=? AND site=?",
                           (row_id, site)).fetchone()
        automatic = None if prev is None else (prev["automatic_json"] if prev["source"] == "manual"
                                               else prev["result_json"])
        with con:
            self._put(con, row_id, replace(result, source="manual"), reader, automatic, time.time())

    def revert(self, row_id: int, site: str) -> bool:
        """Undo the reader's correction of ``site``: the automatic result again. False if none."""
        con = self.store._con()
        prev = con.execute("SELECT kind, automatic_json FROM measurements WHERE case_row=? AND site=? AND"
                           " source='manual'", (row_id, site)).fetchone()
        if prev is None:
            return False
        with con:
            if prev["automatic_json"]:
                self._put(con, row_id, result_from_dict(prev["kind"], json.loads(prev["automatic_json"])), None, None,
                          time.time())
            else:
                con.execute("DELETE FROM measurements WHERE case_row=? AND site=?", (row_id, site))
        return True

    @staticmethod
    def _put(con, row_id: int, res, reader: str | None, automatic: str | None, now: float) -> None:
        bone = isinstance(res, BoneResult)
        site = res.bone if bone else res.joint
        if bone:
            ends = json.dumps([list(p) for p in res.ends]) if res.ends else None
        else:  # a joint: the point on it and the one on the finger beyond it, when the reader gave them
            ends = json.dumps([list(res.centre), list(res.toward)]) if res.centre and res.toward else None
        con.execute(
            "INSERT OR REPLACE INTO measurements (case_row, site, kind, valid, reason, source, corrected_by, unit,"
            " W, M, T, MCI, jsw_min, jsw_mean, ends_json, result_json, automatic_json, method_version, measured_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (row_id, site, "bone" if bone else "joint", int(res.valid), res.reason, res.source, reader, res.unit,
             *((res.W, res.M, res.T, res.MCI) if bone else (None,) * 4),
             *((None, None) if bone else (res.minimum, res.mean)),
             ends, json.dumps(res.to_dict()), automatic, METHOD_VERSION, now))

    def load(self, row_id: int) -> StoredMeasurement | None:
        """The case's stored radiogrammetry, or None when it was never measured."""
        con = self.store._con()
        run = con.execute("SELECT * FROM measurement_runs WHERE case_row=?", (row_id,)).fetchone()
        if run is None:
            return None
        bones, joints, corrected = {}, {}, {}
        for r in con.execute("SELECT site, kind, result_json, corrected_by FROM measurements WHERE case_row=?"
                             " ORDER BY site", (row_id,)):
            d = json.loads(r["result_json"])
            if r["kind"] == "bone":
                bones[r["site"]] = bone_from_dict(d)
            else:
                joints[r["site"]] = joint_from_dict(d)
            if r["corrected_by"]:
                corrected[r["site"]] = r["corrected_by"]
        hand = HandResult(measurable=bool(run["measurable"]), reason=run["reason"], unit=run["unit"],
                          spacing_mm=run["spacing_mm"], bones={k: bones[k] for k in sorted(bones)},
                          joints={k: joints[k] for k in sorted(joints, key=lambda s: (s[:3] != "MCP", s))},
                          thumb_side=run["thumb_side"], notes=tuple(json.loads(run["notes_json"] or "[]")),
                          seconds=float(run["seconds"] or 0.0))
        if bones:
            hand = with_bone(hand, bones[sorted(bones)[0]])  # mean MCI and needs_manual from the stored bones
            hand = replace(hand, measurable=bool(run["measurable"]) or any(b.valid for b in bones.values()))
        else:
            hand = replace(hand, needs_manual=MCI_BONES)
        return StoredMeasurement(hand, run["method_version"], float(run["measured_at"]), corrected)
