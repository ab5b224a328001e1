"""Deal an ordered list of files out to torchrun ranks and merge their records back in order. No Qt.

Round-robin: item i goes to rank ``i % world_size``. Archives are listed folder by folder, so
neighbours tend to be alike (one folder of large DICOMs, one of small PNGs): dealt out like cards
they keep every rank equally busy, where contiguous blocks would hand one rank the big folder.
It also lets the list be worked in blocks whose records are merged, printed and freed as the
run goes, instead of once at the end of a long archive.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ra_desktop.distributed import DistInfo, all_gather_objects

T = TypeVar("T")
R = TypeVar("R")

# Items per rank between two merges: large enough that waiting for the slowest rank of a block
# costs little, small enough that rank 0 prints within seconds (a few s of CPU work per rank).
PER_RANK = 16


def shard(items: Sequence[T], rank: int, world_size: int) -> list[T]:
    """This rank's items: every ``world_size``-th one, starting at ``rank``."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in a world of {world_size}")
    return list(items[rank::world_size])


def merge(parts: Sequence[Sequence[R]], total: int | None = None) -> list[R]:
    """Undo :func:`shard`: ``parts[r]`` is rank r's records; returns them in the items' order.

    ``total`` (the number of items dealt) lets a short or long part be blamed on its rank.
    """
    world = len(parts)
    total = sum(len(p) for p in parts) if total is None else total
    for r, part in enumerate(parts):
        expected = len(range(r, total, world))
        if len(part) != expected:  # a rank lost or doubled a record: never print a misaligned list
            raise ValueError(f"rank {r} returned {len(part)} records for {expected} items")
    out: list[Any] = [None] * total
    for r, part in enumerate(parts):
        out[r::world] = list(part)
    return out


def map_ordered(
    info: DistInfo,
    items: Iterable[T],
    work: Callable[[T], R],
    failed: Callable[[T, Exception], R],
    on_record: Callable[[int, R], None],
    per_rank: int = PER_RANK,
) -> None:
    """Run ``work`` on this rank's share of ``items``; rank 0 gets every record in item order.

    Parameters
    ----------
    info : DistInfo
        Not distributed: every item here, ``on_record`` called as each is done (streaming; an
        iterable such as a folder walk is fine). Distributed: ``items`` must be the same
        sequence on every rank (broadcast it from rank 0).
    work : callable
        ``work(item) -> record`` (picklable when distributed).
    failed : callable
        ``failed(item, exc) -> record`` for an exception ``work`` let through: the item is
        reported as failed and the rank goes on, so it still answers every merge (no hang).
    on_record : callable
        ``on_record(index, record)``, on rank 0 only, in item order, after each block's merge.
    per_rank : int
        Items per rank per block.
    """
    def one(item: T) -> R:
        try:
            return work(item)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch or a rank
            return failed(item, exc)

    if not info.enabled:
        for i, item in enumerate(items):
            on_record(i, one(item))
        return
    seq = items if isinstance(items, Sequence) else list(items)
    block = per_rank * info.world_size  # a multiple of the world: item i stays on rank i % world
    for start in range(0, len(seq), block):
        chunk = seq[start:start + block]
        mine = [one(item) for item in shard(chunk, info.rank, info.world_size)]
        merged = merge(all_gather_objects(info, mine), len(chunk))
        if info.is_main:
            for k, rec in enumerate(merged):
                on_record(start + k, rec)
