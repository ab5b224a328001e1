"""What is measured where: the definitions shared by the measurement and the phantom's truth.

Metacarpal region: along the bone from its proximal (base) end to its distal (head) end, the
region spans ``MC_REGION`` of the bone's length, so it sits at the middle of the shaft whatever
the bone's size (DXR places its regions relative to the bone ends the same way).

Joint space: measured along the finger's axis (the distal bone's axis) on lines whose lateral
offset from the joint's centre line is within ``JSW_CENTRAL`` of the proximal bone's head
half-width, i.e. the central 40% of the head's width; minimum and mean over those lines.
"""
from __future__ import annotations

#: Fractions of the metacarpal's length (0 = base end, 1 = head end) bounding the region.
MC_REGION: tuple[float, float] = (0.4, 0.6)
#: Metacarpals whose cortical index is measured (mean over the three = the hand's MCI).
MCI_BONES: tuple[str, ...] = ("MC2", "MC3", "MC4")
#: Half-width of the joint's central part, as a fraction of the head's half-width.
JSW_CENTRAL: float = 0.4
#: Joints whose space width is measured: proximal bone, distal bone.
JSW_JOINTS: dict[str, tuple[str, str]] = {
    **{f"MCP{r}": (f"MC{r}", f"PP{r}") for r in range(2, 6)},
    **{f"PIP{r}": (f"PP{r}", f"MP{r}") for r in range(2, 6)},
}
#: Version of the measuring method, stored with every value (worklist database, reports): raise it
#: whenever a change to ``ra_desktop.measure`` can change a value, so old and new values are told apart.
METHOD_VERSION: str = "5"
