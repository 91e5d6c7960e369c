"""``fetch_backing``: the storage accounts and container registries behind registries, today.

The accounts are the ``resource_id`` s of a :class:`~mlreg_frames.RegistryTables`' ``storage``
and ``acr`` tables (system- and bring-your-own), each read with one ARM ``GET`` (its body holds
the account's own private-endpoint connections too), concurrently, through the same client as
the registry fetch: the token guard, retries, 429 pacing, byte and time limits. An account that
cannot be read (404 deleted, 403 in a managed resource group you cannot read, a hostile
answer) becomes a ``fetch_errors`` row and stays *unknown*; the others are unaffected.

Example::

    >>> backing = fetch_backing(mf.fetch_registries())              # doctest: +SKIP
    >>> mf.analysis.exposure(tables, backing).query("severity == 'high'")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import requests

from ..errors import FetchError, InvalidArgumentError, MlregFramesError
from ..flatten.backing import ACR_TYPE, STORAGE_TYPE, BackingTables, backing_tables
from ..flatten.walk import parse_arm_id
from ..tables import RegistryTables
from .arguments import number_argument, text_argument, timeout_argument
from .auth import (
    TokenCredential,
    check_endpoint,
    default_credential,
    is_loopback,
    origin,
    resolve_endpoint,
)
from .backinggraph import read_backing_graph
from .client import ArmClient, make_session
from .graphclient import GraphClient
from .guard import REDACTOR
from .limits import (
    DEFAULT_MAX_PAGE_BYTES,
    DEFAULT_MAX_PAGES,
    DEFAULT_REQUEST_TIMEOUT,
    FetchLimits,
)
from .policy import RetryPolicy

__all__ = ["ACR_API_VERSION", "STORAGE_API_VERSION", "backing_ids", "fetch_backing"]

log = logging.getLogger(__name__)

STORAGE_API_VERSION = "2025-08-01"
"""``Microsoft.Storage/storageAccounts`` api-version read by default."""
ACR_API_VERSION = "2025-11-01"
"""``Microsoft.ContainerRegistry/registries`` api-version read by default."""

_TYPES = {
    "/providers/microsoft.storage/storageaccounts/": STORAGE_TYPE,
    "/providers/microsoft.containerregistry/registries/": ACR_TYPE,
}


def backing_ids(tables: RegistryTables) -> list[tuple[str, str]]:
    """(ARM id lower-cased, resource type) of every account the registries name, once each.

    An id that is not a storage account or registry id (or does not parse) is left out: it
    could not be read as one, and the analysis reports it unknown.
    """
    if not isinstance(tables, RegistryTables):
        raise InvalidArgumentError(
            f"tables must be a RegistryTables (from fetch_registries, flatten or read_parquet), "
            f"got {type(tables).__name__}",
            argument="tables",
        )
    ids = pd.concat([tables.storage["resource_id"], tables.acr["resource_id"]]).dropna()
    out: dict[str, str] = {}
    for raw in ids.astype(str):
        rid = raw.strip().rstrip("/").lower()
        kind = next((t for marker, t in _TYPES.items() if marker in rid), None)
        parts = rid.split("/")
        if kind is not None and parse_arm_id(rid) != (None, None) and len(parts) == 9:
            out.setdefault(rid, kind)
    return sorted(out.items())


def _error_row(rid: str, exc: BaseException) -> dict[str, Any]:
    sub, group = parse_arm_id(rid)
    code = getattr(exc, "code", None) or type(exc).__name__
    return {
        "scope": rid,
        "subscription_id": sub,
        "resource_group": group,
        "outcome": "failed",
        "http_status": getattr(exc, "status", None),
        "error_code": str(code),
        "message": REDACTOR.redact(str(exc)),
        "request_id": getattr(exc, "request_id", None),
    }


def fetch_backing(
    tables: RegistryTables,
    *,
    source: str = "arm",
    credential: TokenCredential | None = None,
    endpoint: str = "https://management.azure.com",
    cloud: str | None = None,
    storage_api_version: str = STORAGE_API_VERSION,
    acr_api_version: str = ACR_API_VERSION,
    max_workers: int = 16,
    timeout: float | tuple[float, float] = (5, 60),
    max_attempts: int = 6,
    max_retry_after: float = 60.0,
    backoff_base: float = 0.5,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    session: requests.Session | None = None,
) -> BackingTables:
    """Read every storage account and container registry behind ``tables``, as Azure has them.

    Args:
        tables: the registries (``fetch_registries``, ``flatten`` or ``read_parquet``).
        source: ``"arm"``: one ``GET`` per account; ``"graph"``: one Azure Resource Graph
            query per 200 accounts (:mod:`.backinggraph`). The tables are the same; ARG does not
            say why an account is missing (``NotReturned``), ARM does (404 / 403).
        credential, endpoint, cloud, timeout, max_attempts, max_retry_after, backoff_base,
            max_page_bytes, request_timeout, session: as for
            :func:`~mlreg_frames.fetch_registries`; the token goes only to ``endpoint``.
        storage_api_version, acr_api_version: the providers' api-versions.
        max_workers: accounts read at once.

    Returns:
        :class:`~mlreg_frames.flatten.backing.BackingTables`; ``fetch_errors`` has one row per
        account not read (its ARM id as ``scope``, the status and ARM code).

    Raises:
        InvalidArgumentError: an argument is wrong (before any request).
        FetchError: the endpoint is not safe for a token, or the credential gives no token.
    """
    if source not in ("arm", "graph"):
        raise InvalidArgumentError(
            f"source must be 'arm' or 'graph', got {source!r}", argument="source"
        )
    for name, value in (("storage_api_version", storage_api_version),
                        ("acr_api_version", acr_api_version)):  # fmt: skip
        text_argument(name, value, allow_none=False)
    max_workers = number_argument("max_workers", max_workers, 1, whole=True)
    number_argument("max_attempts", max_attempts, 1, whole=True)
    pair = timeout_argument(timeout)
    ids = backing_ids(tables)
    endpoint = check_endpoint(resolve_endpoint(endpoint, cloud))
    if credential is None:
        credential = default_credential(endpoint)
    own = session is None
    if session is None:
        session = make_session(max_workers, loopback=is_loopback(origin(endpoint).host))
    versions = {STORAGE_TYPE: storage_api_version, ACR_TYPE: acr_api_version}
    limits = FetchLimits(1, max_page_bytes, request_timeout)
    client = ArmClient(
        endpoint, credential, session=session, timeout=pair,
        retry=RetryPolicy(max_attempts, max_retry_after, backoff_base), limits=limits,
    )  # fmt: skip

    def read(item: tuple[str, str]) -> tuple[str, Any]:
        rid, kind = item
        sub, group = parse_arm_id(rid)
        try:
            page = client.get_json(
                client.url(rid, versions[kind]), scope=rid, subscription_id=sub,
                resource_group=group,
            )  # fmt: skip
            return rid, page.body
        except MlregFramesError as exc:
            return rid, exc
        except Exception as exc:  # an unexpected failure is that account's, not the fetch's
            REDACTOR.scrub(exc)
            error = FetchError(f"unexpected {type(exc).__name__} reading {rid}", scope=rid,
                               code=type(exc).__name__)  # fmt: skip
            error.__cause__ = exc
            return rid, error

    bodies: list[Any] = []
    errors: list[dict[str, Any]] = []
    if source == "graph":
        graph = GraphClient(
            endpoint, credential, session=session, timeout=pair,
            retry=RetryPolicy(max_attempts, max_retry_after, backoff_base),
            limits=FetchLimits(DEFAULT_MAX_PAGES, max_page_bytes, request_timeout),
        )  # fmt: skip
        try:
            graph.token()
            bodies, errors = read_backing_graph(graph, [rid for rid, _ in ids])
        finally:
            if own:
                session.close()
        return backing_tables(bodies, source="graph", errors=errors)
    try:
        client.token()
        with ThreadPoolExecutor(max_workers, thread_name_prefix="mlreg-backing") as pool:
            for rid, got in pool.map(read, ids):
                if isinstance(got, BaseException):
                    errors.append(_error_row(rid, got))
                    log.info("reading %s failed: %s", rid, got)
                elif isinstance(got, dict) and str(got.get("id", "")).rstrip("/").lower() == rid:
                    bodies.append(got)
                else:
                    shown = got.get("id") if isinstance(got, dict) else type(got).__name__
                    errors.append(_error_row(rid, FetchError(
                        f"the answer for {rid} describes {shown!r}, not the account asked for; "
                        "it is not used", scope=rid, code="UnexpectedResource")))  # fmt: skip
    finally:
        if own:
            session.close()
    return backing_tables(bodies, source="arm", api_versions=versions, errors=errors)
