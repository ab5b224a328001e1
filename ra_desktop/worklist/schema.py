"""SQL of the worklist tables kept by measurements.py and annotations.py (the store creates them).

Here, below the store and those modules, so the store need not import the modules that use it.
"""

MEASUREMENTS = """
-- Radiogrammetry (ra_desktop/measure): one row per case and site; NULL values when not valid.
CREATE TABLE IF NOT EXISTS measurement_runs (
    case_row INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    method_version TEXT NOT NULL,
    measurable INTEGER NOT NULL,
    reason TEXT,
    unit TEXT NOT NULL,
    spacing_mm REAL,
    thumb_side TEXT,
    notes_json TEXT,
    seconds REAL,
    measured_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS measurements (
    case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    site TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bone', 'joint')),
    valid INTEGER NOT NULL,
    reason TEXT,
    source TEXT NOT NULL,
    corrected_by TEXT,
    unit TEXT NOT NULL,
    W REAL, M REAL, T REAL, MCI REAL,
    jsw_min REAL, jsw_mean REAL,
    ends_json TEXT,
    result_json TEXT NOT NULL,
    automatic_json TEXT,
    method_version TEXT NOT NULL,
    measured_at REAL NOT NULL,
    PRIMARY KEY (case_row, site)
);
"""

ANNOTATIONS = """
-- The reader's annotations (worklist/annotations.py): points in image pixels, JSON [[x, y], ...].
CREATE TABLE IF NOT EXISTS annotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('arrow', 'text', 'angle', 'roi_rect', 'roi_ellipse')),
    points_json TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_case ON annotations(case_row, reader);
"""
