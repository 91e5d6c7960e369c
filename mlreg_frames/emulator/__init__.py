"""A local stand-in for Azure Resource Manager, for tests, demos and benchmarks.

:mod:`.server` is the HTTP server on 127.0.0.1 (:class:`ArmEmulator`); :mod:`.armsim` is the
model it serves (the bundled sample or a synthetic fleet, paged by ``nextLink``) with fault
injection (:class:`Fault`: 429 with ``Retry-After``, 5xx, ARM error bodies, latency);
:mod:`.graphsim` answers Azure Resource Graph queries over the same registries, and
:mod:`.changesim` makes the change records its ``resourcechanges`` queries return.
"""

from __future__ import annotations

from .armsim import ArmModel, load_pages, sample_dir
from .assetsim import AssetModel, ReadBucket
from .changesim import ChangeModel, change_record
from .graphsim import GraphModel
from .server import ArmEmulator, Fault, Request

__all__ = [
    "ArmEmulator",
    "ArmModel",
    "AssetModel",
    "ChangeModel",
    "Fault",
    "GraphModel",
    "ReadBucket",
    "Request",
    "change_record",
    "load_pages",
    "sample_dir",
]
