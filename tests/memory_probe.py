"""Load image files each in a fresh process under a real memory limit; report what each cost.

    python tests/memory_probe.py LIMIT_MB [--warm FILE...] -- FILE...

One process imports the loader once, loads the ``--warm`` files (so that decoder plugins are
imported before, not inside, any measured load), then forks once per FILE. Each child sets
RLIMIT_AS to its current address space + LIMIT_MB, so an allocation past the budget fails there
(MemoryError, or the child dies) instead of being merely noticed; it calls ``load_radiograph``
and reports its peak RSS (VmHWM: every page it touched, C decoders' included) above its RSS at
the start. The parent reads the child's CPU time from ``wait4``. Prints one JSON object per FILE:
``path, outcome ("loaded", "refused", "MemoryError", another exception's name, or "died"),
reason, growth_bytes, cpu_s, signal``.

Linux only (/proc/self/status, fork). Used by tests/test_io_bad_inputs.py.
"""
from __future__ import annotations

import json
import os
import resource
import sys


def status_bytes(key: str) -> int:
    """A ``kB`` line of /proc/self/status (VmRSS, VmHWM, VmSize) in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _child(path: str, limit: int, write_fd: int) -> None:
    from ra_desktop.errors import ImageLoadError
    from ra_desktop.io import load_radiograph

    out: dict = {"rss0": status_bytes("VmRSS")}
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (status_bytes("VmSize") + limit, hard))
    try:
        load_radiograph(path)
        out["outcome"] = "loaded"
    except MemoryError:
        out["outcome"] = "MemoryError"
    except ImageLoadError as exc:
        out["outcome"], out["reason"] = "refused", str(exc.reason)[:1000]
    except BaseException as exc:  # noqa: BLE001 - reported, not handled
        out["outcome"], out["reason"] = type(exc).__name__, str(exc)[:300]
    out["hwm"] = status_bytes("VmHWM")
    os.write(write_fd, json.dumps(out).encode())


def probe(path: str, limit: int) -> dict:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure one load, report, leave without cleanup
        os.close(read_fd)
        try:
            _child(path, limit, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    _, status, usage = os.wait4(pid, 0)
    rec = json.loads(b"".join(chunks)) if chunks else {"outcome": "died"}
    return {
        "path": path,
        "outcome": rec["outcome"],
        "reason": rec.get("reason", ""),
        "growth_bytes": rec["hwm"] - rec["rss0"] if "hwm" in rec else None,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
    }


def main(argv: list[str]) -> int:
    limit = int(argv[0]) * 1024 * 1024
    rest = argv[1:]
    split = rest.index("--")
    warm = rest[1:split] if rest[:1] == ["--warm"] else []
    from ra_desktop.io import load_radiograph

    for path in warm:
        load_radiograph(path)
    for path in rest[split + 1:]:
        print(json.dumps(probe(path, limit)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
