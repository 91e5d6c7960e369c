"""Where registries come from: Azure Resource Manager and Azure Resource Graph over HTTPS.

:mod:`.auth` resolves the cloud's endpoint and credentials, :mod:`.guard` decides where the
bearer token may go (and scrubs it from errors and logs), :mod:`.policy` decides what to retry
and how long to wait, :mod:`.limits` bounds pages, bytes and time (:mod:`.watchdog` holds the
deadline while headers arrive), :mod:`.client` is the paging HTTP client and :mod:`.fetch`
reads many scopes at once into :class:`~mlreg_frames.RegistryTables` (:mod:`.walker` walks
their pages on one thread while the requests are in flight); :mod:`.graph` does the same with
one Resource Graph query per tenant, management group or 1,000 subscriptions
(:mod:`.graphclient` paces it by ARG's quota headers).
"""

from __future__ import annotations

from .auth import CLOUDS, StaticTokenCredential, TokenCredential
from .client import ArmClient, RetryPolicy
from .fetch import API_VERSION, fetch_registries
from .graph import GRAPH_API_VERSION, fetch_graph
from .graphclient import GraphClient
from .guard import request_origin
from .limits import FetchLimits
from .watchdog import WatchedAdapter

__all__ = [
    "API_VERSION",
    "CLOUDS",
    "GRAPH_API_VERSION",
    "ArmClient",
    "FetchLimits",
    "GraphClient",
    "RetryPolicy",
    "StaticTokenCredential",
    "TokenCredential",
    "WatchedAdapter",
    "fetch_graph",
    "fetch_registries",
    "request_origin",
]
