"""Coded concepts of the exported DICOM objects: standard codes where they exist, else this
project's private coding scheme ``99RADESKTOP`` (declared in every object that uses it).

Standard codes (checked against pydicom's DICOM code dictionary, PS3.16): DCM for DICOM concepts,
SCT (SNOMED CT) for anatomy, laterality, "Rheumatoid arthritis" (69896004) and "Normal", UCUM
for units, LOINC (LN) for the document title of the encapsulated PDF. Nothing standard names an
AI model's RA probability, its out-of-distribution check, a Sharp/van der Heijde area score or
the radiogrammetry quantities, so those are private: "99" designators are the form PS3.16 8.2
reserves for local schemes, and ``CodingSchemeIdentificationSequence`` says whose scheme it is.
"""
from __future__ import annotations

from highdicom.coding_schemes import CodingSchemeIdentificationItem
from highdicom.sr import CodedConcept

from ra_desktop.dicomout.context import plain_text

PRIVATE_SCHEME = "99RADESKTOP"
PRIVATE_SCHEME_NAME = "RA Desktop private codes"
PRIVATE_SCHEME_ORG = "RA Desktop project"


def private(value: str, meaning: str) -> CodedConcept:
    """A concept of the project's private scheme (meaning in ASCII where typography allows)."""
    return CodedConcept(value, PRIVATE_SCHEME, plain_text(meaning))


def coding_schemes() -> list[CodingSchemeIdentificationItem]:
    """The ``CodingSchemeIdentificationSequence`` items declaring the private scheme."""
    return [CodingSchemeIdentificationItem(designator=PRIVATE_SCHEME, name=PRIVATE_SCHEME_NAME,
                                           version="1", responsible_organization=PRIVATE_SCHEME_ORG)]


# --- standard ------------------------------------------------------------------------------
IMAGING_MEASUREMENT_REPORT = CodedConcept("126000", "DCM", "Imaging Measurement Report")  # CID 7021
PLAIN_RADIOGRAPHY = CodedConcept("168537006", "SCT", "Plain radiography")
COMMENT = CodedConcept("121106", "DCM", "Comment")
PERSON_OBSERVER_NAME = CodedConcept("121008", "DCM", "Person Observer Name")
HAND = CodedConcept("85562004", "SCT", "Hand")
LEFT = CodedConcept("7771000", "SCT", "Left")
RIGHT = CodedConcept("24028007", "SCT", "Right")
RHEUMATOID_ARTHRITIS = CodedConcept("69896004", "SCT", "Rheumatoid arthritis")
NORMAL = CodedConcept("17621005", "SCT", "Normal")
METACARPAL = CodedConcept("36455000", "SCT", "Metacarpal")
SCAPHOID = CodedConcept("30518006", "SCT", "Scaphoid")
DISTAL_RADIUS = CodedConcept("75129005", "SCT", "Distal Radius")
DISTAL_ULNA = CodedConcept("91238003", "SCT", "Distal Ulna")
MM = CodedConcept("mm", "UCUM", "mm")
NO_UNITS = CodedConcept("1", "UCUM", "no units")
SCORE_UNIT = CodedConcept("{score}", "UCUM", "score")
AREAS_UNIT = CodedConcept("{areas}", "UCUM", "areas")
PIXEL_UNIT = CodedConcept("{pixels}", "UCUM", "Pixels")
DIAGNOSTIC_IMAGING_REPORT = CodedConcept("18748-4", "LN", "Diagnostic imaging study")

# --- private: the AI result ----------------------------------------------------------------
AI_RESULT = private("AI-RESULT", "AI result")
AI_PROBABILITY = private("AI-PROB", "Probability of rheumatoid arthritis (AI model output)")
AI_THRESHOLD = private("AI-THRESHOLD", "Decision threshold of the AI model")
AI_LABEL = private("AI-LABEL", "AI model label")
MODEL_NOT_APPLICABLE = private("AI-NA", "Model not applicable: no verdict")
OOD_STATUS = private("OOD-STATUS", "Out-of-distribution status")
OOD_IN = private("OOD-IN", "Within the training distribution")
OOD_OUT = private("OOD-OUT", "Out of distribution")
OOD_NOT_CHECKED = private("OOD-NOT-CHECKED", "Not checked: the model has no out-of-distribution statistics")
OOD_DISTANCE = private("OOD-DISTANCE", "Out-of-distribution distance")
OOD_THRESHOLD = private("OOD-THRESHOLD", "Out-of-distribution threshold")
TRAINING_DATA = private("TRAINING-DATA", "Model training data")
SYNTHETIC_PHANTOMS = private("SYNTH-PHANTOMS", "Synthetic phantoms: demo model, not for clinical use")
REAL_RADIOGRAPHS = private("REAL-XR", "Real radiographs")
MODEL_SHA256 = "weights SHA-256 "  # prefix of the algorithm parameter carrying the hash

# --- private: the reader's sign-off --------------------------------------------------------
READER_SIGNOFF = private("SIGNOFF", "Reader sign-off of the AI result")
AGREES = private("SIGNOFF-AGREE", "Reader agrees with the AI result")
DISAGREES = private("SIGNOFF-DISAGREE", "Reader disagrees with the AI result")
NO_DECISION = private("SIGNOFF-NONE", "No decision recorded")
SIGNOFF_TIME = private("SIGNOFF-TIME", "Sign-off date and time")

# --- private: Sharp/van der Heijde ---------------------------------------------------------
SVDH_METHOD = private("SVDH", "Sharp/van der Heijde method")
SVDH_EROSION = private("SVDH-EROSION", "Sharp/van der Heijde erosion score")
SVDH_JSN = private("SVDH-JSN", "Sharp/van der Heijde joint space narrowing score")
SVDH_EROSION_TOTAL = private("SVDH-ERO-TOTAL", "Sharp/van der Heijde erosion total")
SVDH_JSN_TOTAL = private("SVDH-JSN-TOTAL", "Sharp/van der Heijde joint space narrowing total")
SVDH_TOTAL = private("SVDH-TOTAL", "Sharp/van der Heijde total score")
SVDH_NOT_ASSESSABLE = private("SVDH-NA-AREAS", "Areas not assessable")
SVDH_UNSCORED = private("SVDH-UNSCORED", "Areas not scored")
# Scored areas with a standard SNOMED CT code; the joints have none here, so they are private.
_SITE_SCT = {"scaphoid": SCAPHOID, "distal_radius": DISTAL_RADIUS, "distal_ulna": DISTAL_ULNA}
# Code values are at most 16 characters (SH): the long site names get short values.
_SITE_VALUES = {"trapezium_trapezoid": "S-TPM-TPD", "trapezium_scaphoid": "S-TPM-SCA",
                "capitate_scaphoid_lunate": "S-CAP-SCA-LUN"}


def svdh_site(site: str, label: str) -> CodedConcept:
    """The anatomic code of a Sharp/van der Heijde area (``ra_desktop.scoring.svdh`` site)."""
    return _SITE_SCT.get(site) or private(_SITE_VALUES.get(site, f"S-{site.upper()}"), label)


# --- private: radiogrammetry ---------------------------------------------------------------
DXR_METHOD = private("DXR", "Digital X-ray radiogrammetry")
JSW_METHOD = private("JSW", "Joint space width along the finger axis")
DXR_W = private("DXR-W", "Metacarpal outer (periosteal) width")
DXR_M = private("DXR-M", "Metacarpal medullary (endosteal) width")
DXR_T = private("DXR-T", "Metacarpal cortical thickness")
DXR_MCI = private("DXR-MCI", "Metacarpal index (Barnett-Nordin)")
DXR_MEAN_MCI = private("DXR-MEAN-MCI", "Mean metacarpal index of MC2-4")
JSW_MIN = private("JSW-MIN", "Joint space width, minimum")
JSW_MEAN = private("JSW-MEAN", "Joint space width, mean")


_ORDINAL = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "5": "Fifth"}


def bone_site(bone: str) -> CodedConcept:
    """Metacarpal ``MC2``..``MC5`` as a private site code (SNOMED's per-ray codes are not bundled)."""
    return private(f"S-{bone}", f"{_ORDINAL.get(bone[-1], bone[-1])} metacarpal")


def joint_site(joint: str) -> CodedConcept:
    """A joint (``MCP2``, ``PIP3``...) as a private site code, meaning as the score sheet names it."""
    return private(f"S-{joint}", f"{joint[:3]} {joint[3:]}")
