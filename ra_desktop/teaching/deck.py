"""A quiz deck: the phantoms a class scores, made from a seed and a difficulty, shared as a file. No Qt.

A deck is a list of case specs; a spec is all :func:`ra_desktop.phantom.generate.generate_case`
needs, so rendering a case gives the same pixels and the same truth on every machine and every
time (the phantom seed is the deck seed, the case's generator ``case_rng(seed, index)``). The file
is small JSON with a format name and version: a teacher makes a deck once and the class opens it.

Difficulties, as an educator would set them:

* ``easy`` — clear-cut cases: normal hands with no incidental finding, and severe RA
  (generator severity 3: erosions and narrowing at many joints).
* ``standard`` — a mixed clinic: normals (some with incidental findings, as the generator draws
  them), and RA of every severity.
* ``hard`` — the subtle end: early RA (severity 1: few small erosions, slight narrowing), normals
  with distal interphalangeal osteoarthritis (never scored as RA: DIP joints are not SvdH areas),
  and early RA with coexisting DIP osteoarthritis.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ra_desktop.errors import DataError

DECK_FORMAT = "ra-desktop quiz deck"
DECK_VERSION = 1
DEFAULT_ANATOMY = 2  # the shaped wrist: no model reads quiz phantoms, so realism is all that matters
DEFAULT_SIZE = 1000  # ~0.25 s a case: a laptop without a GPU steps through a deck without waiting
MAX_CASES = 200
MAX_FILE_BYTES = 1_000_000
SIZES = (400, 3000)  # the range a deck file may ask for (small ones for tests)

# name -> (description, ((label, severity, forced findings), weight), ...)
DIFFICULTIES: dict[str, tuple[str, tuple[tuple[tuple[str, int, tuple[str, ...]], float], ...]]] = {
    "easy": ("Clear normals and severe RA",
             ((("Normal", 0, ()), 0.5), (("RA", 3, ()), 0.5))),
    "standard": ("Normals and RA of every severity, as in a clinic",
                 ((("Normal", 0, ()), 0.4), (("RA", 1, ()), 0.2), (("RA", 2, ()), 0.2), (("RA", 3, ()), 0.2))),
    "hard": ("Early RA, and normals with DIP osteoarthritis that is not RA",
             ((("RA", 1, ()), 0.4), (("Normal", 0, ("dip_oa",)), 0.4), (("RA", 1, ("dip_oa",)), 0.2))),
}


class DeckFileError(DataError):
    """A deck file cannot be used: names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"quiz deck {self.path}: {reason}")


@dataclass(frozen=True)
class CaseSpec:
    """One phantom of a deck: ``generate_case(case_rng(seed, index), label, severity, side, size)``."""

    seed: int
    index: int
    label: str  # "RA" or "Normal"
    severity: int  # 1-3 for RA, 0 for normal
    side: str  # "R" or "L"
    size: int  # long side in pixels
    findings: tuple[str, ...] = ()  # RA-unrelated findings forced in: "dip_oa", "fracture"
    anatomy: int = 1  # the generator's anatomy (2: shaped carpus and radius); 1 in decks that predate it


@dataclass(frozen=True)
class Deck:
    """The cases of one quiz, in the order they are shown."""

    seed: int
    difficulty: str
    cases: tuple[CaseSpec, ...]

    @property
    def name(self) -> str:
        return f"{self.difficulty} deck, seed {self.seed}, {len(self.cases)} cases"


def _plan_findings(seed: int, index: int, label: str, severity: int) -> bool:
    """Whether the generator's own draw gives case (seed, index) an incidental finding.

    Mirrors generate_case's first draws (plan seed, then the plan), which it documents as its
    stream split; a test checks the two agree.
    """
    from ra_desktop.phantom.generate import case_rng
    from ra_desktop.phantom.lesions import sample_plan

    plan_seed, _ = (int(v) for v in case_rng(seed, index).integers(2**63, size=2))
    plan = sample_plan(np.random.default_rng(plan_seed), label, severity)
    return bool(plan.dip_oa or plan.fracture)


def make_deck(seed: int, difficulty: str = "standard", n: int = 10, size: int = DEFAULT_SIZE,
              anatomy: int = DEFAULT_ANATOMY) -> Deck:
    """A deck of ``n`` cases drawn from ``seed`` at ``difficulty`` (the same deck every time).

    Parameters
    ----------
    seed : int
        Non-negative; also the phantoms' seed.
    difficulty : {"easy", "standard", "hard"}
    n : int
        Number of cases, 1..MAX_CASES.
    size : int
        Long side of each phantom in pixels.
    anatomy : {1, 2}
        The generator's anatomy; 2 (default) draws the carpus and distal radius with their shapes.
    """
    if anatomy not in (1, 2):
        raise ValueError(f"anatomy must be 1 or 2, not {anatomy!r}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, not {difficulty!r}")
    if not 1 <= int(n) <= MAX_CASES:
        raise ValueError(f"a deck has 1 to {MAX_CASES} cases, not {n}")
    if int(seed) < 0:
        raise ValueError(f"the seed must be 0 or more, not {seed}")
    if not SIZES[0] <= int(size) <= SIZES[1]:
        raise ValueError(f"the phantom size must be {SIZES[0]}-{SIZES[1]} px, not {size}")
    kinds = DIFFICULTIES[difficulty][1]
    weights = np.array([w for _, w in kinds], float)
    # Exact proportions, shuffled: a 10-case easy deck has 5 normals, not 3 or 7 by chance.
    counts = np.floor(weights / weights.sum() * n).astype(int)
    for k in np.argsort(-(weights / weights.sum() * n - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(list(DIFFICULTIES).index(difficulty),)))
    order = rng.permutation(np.repeat(np.arange(len(kinds)), counts))
    cases, index = [], 0
    for k in order:
        (label, severity, findings), _ = kinds[int(k)]
        # "easy" normals are clear: skip phantom indices whose draw adds an incidental finding
        while difficulty == "easy" and label == "Normal" and _plan_findings(seed, index, label, severity):
            index += 1
        cases.append(CaseSpec(int(seed), index, label, severity, str(rng.choice(["R", "L"])), int(size),
                              tuple(findings), int(anatomy)))
        index += 1
    return Deck(int(seed), difficulty, tuple(cases))


def render_case(spec: CaseSpec):
    """The phantom of ``spec`` (a PhantomCase: uint16 image, ground truth, mask); same pixels every time."""
    from ra_desktop.phantom.generate import case_rng, generate_case  # the generator loads when a case is shown

    return generate_case(case_rng(spec.seed, spec.index), spec.label, spec.severity or 1, spec.side, spec.size,
                         seed_info=[spec.seed, spec.index], force_findings=spec.findings, anatomy=spec.anatomy)


# ---- the file ------------------------------------------------------------------------------------
def spec_to_dict(spec: CaseSpec) -> dict:
    return dict(asdict(spec), findings=list(spec.findings))


def deck_to_dict(deck: Deck) -> dict:
    return {"format": DECK_FORMAT, "version": DECK_VERSION, "seed": deck.seed, "difficulty": deck.difficulty,
            "cases": [spec_to_dict(c) for c in deck.cases]}


def save_deck(deck: Deck, path: str | Path) -> Path:
    """Write ``deck`` as JSON to ``path`` (through a temporary file: never half a deck)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(deck_to_dict(deck), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _int(data: dict, key: str, low: int, high: float = math.inf) -> int:
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ValueError(f"\"{key}\" must be a whole number {low}..{'' if high == math.inf else int(high)}, got {v!r}")
    return v


def spec_from_dict(c, number: int = 1) -> CaseSpec:
    """A case spec from its JSON object; ValueError says what is wrong with case ``number``."""
    if not isinstance(c, dict):
        raise ValueError(f"case {number} is not an object")
    try:
        label, side, findings = c.get("label"), c.get("side"), c.get("findings", [])
        if label not in ("RA", "Normal"):
            raise ValueError(f"\"label\" must be RA or Normal, got {label!r}")
        if side not in ("R", "L"):
            raise ValueError(f"\"side\" must be R or L, got {side!r}")
        if not isinstance(findings, list) or any(f not in ("dip_oa", "fracture") for f in findings):
            raise ValueError(f"\"findings\" must be a list of dip_oa/fracture, got {findings!r}")
        severity = _int(c, "severity", 1, 3) if label == "RA" else _int(c, "severity", 0, 0)
        anatomy = _int(c, "anatomy", 1, 2) if "anatomy" in c else 1  # decks written before anatomy 2
        return CaseSpec(_int(c, "seed", 0), _int(c, "index", 0), label, severity, side,
                        _int(c, "size", *SIZES), tuple(findings), anatomy)
    except ValueError as exc:
        raise ValueError(f"case {number}: {exc}") from None


def deck_from_dict(data, path: str | Path = "<deck>") -> Deck:
    """The deck in ``data`` (a loaded deck file); DeckFileError names ``path`` and what is wrong."""
    if not isinstance(data, dict) or data.get("format") != DECK_FORMAT:
        raise DeckFileError(path, f"not a quiz deck (no \"format\": \"{DECK_FORMAT}\")")
    version = data.get("version")
    if version != DECK_VERSION:
        raise DeckFileError(path, f"deck format version {version!r}; this RA Desktop reads version {DECK_VERSION} "
                                  "(a newer RA Desktop wrote it?)")
    try:
        seed = _int(data, "seed", 0)
        difficulty = data.get("difficulty")
        if not isinstance(difficulty, str) or len(difficulty) > 40:
            raise ValueError(f"\"difficulty\" must be a short text, got {difficulty!r}")
        cases = data.get("cases")
        if not isinstance(cases, list) or not 1 <= len(cases) <= MAX_CASES:
            raise ValueError(f"\"cases\" must be a list of 1 to {MAX_CASES} cases")
        return Deck(seed, difficulty, tuple(spec_from_dict(c, i + 1) for i, c in enumerate(cases)))
    except ValueError as exc:
        raise DeckFileError(path, str(exc)) from None


def load_deck(path: str | Path) -> Deck:
    """Read a deck file; DeckFileError names the file and why it cannot be used."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DeckFileError(path, f"too large for a deck ({path.stat().st_size} bytes)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except DeckFileError:
        raise
    except FileNotFoundError:
        raise DeckFileError(path, "no such file") from None
    except UnicodeDecodeError:
        raise DeckFileError(path, "not a text file (not UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise DeckFileError(path, f"not valid JSON (truncated or damaged?): {exc.msg} at line {exc.lineno}") from None
    except OSError as exc:
        raise DeckFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    return deck_from_dict(data, path)
