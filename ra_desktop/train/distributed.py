"""Training's name for the torchrun plumbing, which lives in :mod:`ra_desktop.distributed`
(``predict`` and ``report`` use it too, and the runtime may not import the training package)."""
from ra_desktop.distributed import (  # noqa: F401 - re-exported for the trainer
    DistInfo,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    broadcast_object,
    cleanup,
    launched_by_torchrun,
    setup,
)
