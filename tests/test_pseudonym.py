"""Case pseudonyms for de-identified reports: stable on one workstation, keyed, not reversible."""
from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
import threading

import pytest

from ra_desktop import pseudonym as ps

UID = "1.2.826.0.1.3680043.2.1125.1"


def test_same_case_same_pseudonym_and_key_made_once_owner_only():
    first = ps.pseudonym(UID)
    key_file = ps.key_path()
    raw = key_file.read_bytes()
    assert re.fullmatch(r"ANON-[0-9a-f]{20}", first)
    assert ps.pseudonym(UID) == first  # second call: same key, same pseudonym
    assert key_file.read_bytes() == raw  # the key is not rewritten
    assert len(bytes.fromhex(raw.decode().strip())) == 32
    if sys.platform != "win32":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [p for p in key_file.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left
    assert ps.pseudonym(UID + "2") != first


def test_another_key_or_workstation_gives_another_pseudonym(tmp_path, monkeypatch):
    here = ps.pseudonym(UID)
    assert ps.pseudonym(UID, b"k" * 32) != here
    # the given key's answer, checked with `openssl dgst -sha256 -mac HMAC -macopt hexkey:6b6b...6b`
    assert ps.pseudonym(UID, b"k" * 32) == "ANON-3ded69abf02bb008ab9f"
    # not a plain hash of the id: knowing the UID alone does not give the pseudonym
    assert here[5:] != hashlib.sha256(UID.encode()).hexdigest()[:20]
    other = tmp_path / "other-workstation"
    other.mkdir()
    monkeypatch.setenv("RA_DESKTOP_HOME", str(other))
    assert ps.pseudonym(UID) != here


def test_damaged_key_is_refused_not_replaced():
    ps.key_path().write_text("abcd\n")
    with pytest.raises(ps.PseudonymKeyError, match="damaged"):
        ps.pseudonym(UID)
    assert ps.key_path().read_text() == "abcd\n"  # a new key would change every pseudonym


def test_threads_starting_together_share_one_key(monkeypatch):
    results: list[str] = []
    barrier = threading.Barrier(6)

    def work():
        barrier.wait()
        results.append(ps.pseudonym(UID))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 6


@pytest.mark.skipif(not hasattr(os, "link"), reason="hard links needed to race for the name")
def test_key_made_by_another_process_first_wins(monkeypatch):
    # Another process creates the key between our existence check and our link.
    real_link = os.link
    theirs = "ab" * 32 + "\n"

    def link_after_other(src, dst):
        with open(dst, "w") as fh:
            fh.write(theirs)
        return real_link(src, dst)

    monkeypatch.setattr(ps.os, "link", link_after_other)
    assert ps.workstation_key() == bytes.fromhex(theirs.strip())
    assert ps.key_path().read_text() == theirs


def test_documented_construction_known_answer():
    # HMAC-SHA256 under key 00 01 .. 1f, first 20 hex digits; the digest was checked with
    # `openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f`, not with this code.
    assert ps.pseudonym(UID, bytes(range(32))) == "ANON-e9e6841424782850b4c2"
