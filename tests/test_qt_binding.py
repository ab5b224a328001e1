"""The Qt binding the app runs on keeps Python's reference counts: PySide6 6.12.0 on CPython 3.11
lost a reference to None on every call returning nothing and to True on every signal emit, and
the process aborted after a few thousand (a mouse moved over the image emits per move)."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QObject, Signal

class Emitter(QObject):
    moved = Signal(int)

o, e = QObject(), Emitter()
e.moved.connect(lambda v: None)
none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
for i in range(20000):
    o.setObjectName("x")
    e.moved.emit(i)
print(sys.getrefcount(None) - none0, sys.getrefcount(True) - true0)
"""


def test_signals_and_calls_keep_reference_counts():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"the Qt binding crashed the interpreter: {out.stderr[-500:]}"
    none_delta, true_delta = (int(v) for v in out.stdout.split())
    assert abs(none_delta) < 100 and abs(true_delta) < 100, (none_delta, true_delta)
