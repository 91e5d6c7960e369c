"""Where registries come from: Azure Resource Manager over HTTPS.

:mod:`.auth` resolves the cloud's endpoint and credentials, :mod:`.guard` decides where the
bearer token may go (and scrubs it from errors and logs), :mod:`.policy` decides what to retry
and how long to wait, :mod:`.limits` bounds pages, bytes and time, :mod:`.client` is the
paging HTTP client and :mod:`.fetch` reads many scopes at once into
:class:`~mlreg_frames.RegistryTables`.
"""

from __future__ import annotations

from .auth import CLOUDS, StaticTokenCredential, TokenCredential
from .client import ArmClient, RetryPolicy
from .fetch import API_VERSION, fetch_registries
from .guard import request_origin
from .limits import FetchLimits

__all__ = [
    "API_VERSION",
    "CLOUDS",
    "ArmClient",
    "FetchLimits",
    "RetryPolicy",
    "StaticTokenCredential",
    "TokenCredential",
    "fetch_registries",
    "request_origin",
]
