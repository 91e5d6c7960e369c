"""Fetch every registry an identity can see: scopes, concurrency, partial failure, progress.

:func:`fetch_registries` lists subscriptions (unless given), then runs ``Registries - List By
Subscription`` (or ``Registries - List`` for a resource group) for every scope on a thread
pool sharing one connection pool. Pages within a scope are read in order; scopes run at once.
A failing scope never drops the others: it becomes a row of ``tables.fetch_errors``, and only
when every scope fails does the call raise. HTTP, retries and the token guard live in
:mod:`mlreg_frames.sources.client`; turning pages into tables in :mod:`mlreg_frames.flatten`.

Example::

    >>> import mlreg_frames as mf
    >>> tables = mf.fetch_registries()                              # doctest: +SKIP
    >>> tables = mf.fetch_registries("<sub>", "rg-ml", raw_dir="raw/")  # doctest: +SKIP
    >>> tables.fetch_errors[["scope", "outcome", "error_code"]]     # doctest: +SKIP
    >>> mf.flatten(mf.read_pages("raw/")).registries.equals(tables.registries)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from .. import schema
from ..errors import FetchError, FlattenError
from ..flatten.engine import flatten
from ..pages import Page, write_page
from ..tables import RegistryTables
from .auth import (
    TokenCredential,
    check_endpoint,
    default_credential,
    is_loopback,
    origin,
    resolve_endpoint,
)
from .client import ArmClient, ListPage, RetryPolicy, make_session
from .graph import fetch_graph

__all__ = [
    "API_VERSION",
    "SKIPPED_STATES",
    "SUBSCRIPTIONS_API_VERSION",
    "Scope",
    "fetch_registries",
]

log = logging.getLogger(__name__)

API_VERSION = "2025-09-01"
"""The ``Microsoft.MachineLearningServices`` api-version used unless told otherwise."""

SUBSCRIPTIONS_API_VERSION = "2022-12-01"
"""The api-version of ``Subscriptions - List`` (``Microsoft.Resources``)."""

SKIPPED_STATES = frozenset({"disabled", "deleted"})
"""Subscription states that are recorded as skipped instead of listed."""

_PROVIDER = "providers/Microsoft.MachineLearningServices/registries"


@dataclass(frozen=True)
class Scope:
    """One list call: a subscription, or a resource group in it.

    Example::

        >>> Scope("AB-12", "rg-ml").path
        '/subscriptions/ab-12/resourceGroups/rg-ml'
    """

    subscription_id: str
    resource_group: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "subscription_id", self.subscription_id.strip().lower())

    @property
    def path(self) -> str:
        """The ARM scope, as ``fetch_errors.scope`` shows it."""
        base = f"/subscriptions/{self.subscription_id}"
        return base + (f"/resourceGroups/{self.resource_group}" if self.resource_group else "")

    @property
    def list_path(self) -> str:
        """The path of the registries list operation for this scope."""
        return f"{self.path}/{_PROVIDER}"

    @property
    def slug(self) -> str:
        """A file-name-safe prefix for this scope's pages in a raw archive."""
        text = f"sub-{self.subscription_id}"
        if self.resource_group:
            text += "-rg-" + re.sub(r"[^A-Za-z0-9._-]", "_", self.resource_group)
        return text


class _Progress:
    """A tqdm bar over scopes with pages, registries, retries and failures as postfix."""

    def __init__(self, enabled: bool):
        self._lock = threading.Lock()
        self.counts = {"pages": 0, "registries": 0, "retries": 0, "failed": 0}
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=None, desc="scopes", unit="scope", file=sys.stderr)

    def _bump(self, scopes: int = 0, done: int = 0, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                self.counts[key] += value
            if self._bar is not None:
                if scopes:
                    self._bar.total = (self._bar.total or 0) + scopes
                self._bar.set_postfix(self.counts, refresh=False)
                self._bar.update(done)

    def scope_added(self) -> None:
        self._bump(scopes=1)

    def scope_done(self, future: Future) -> None:
        failed = future.cancelled() or future.exception() is not None or future.result()[1]
        self._bump(done=1, failed=int(bool(failed)))

    def page(self, registries: int) -> None:
        self._bump(pages=1, registries=registries)

    def retry(self, reason: str, wait: float) -> None:
        self._bump(retries=1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _error_row(scope: Scope, outcome: str, exc: BaseException | None, message: str) -> dict:
    return {
        "scope": scope.path,
        "subscription_id": scope.subscription_id,
        "resource_group": scope.resource_group,
        "outcome": outcome,
        "http_status": getattr(exc, "status", None),
        "error_code": _error_code(exc),
        "message": message,
        "request_id": getattr(exc, "request_id", None),
    }


def _error_code(exc: BaseException | None) -> str | None:
    """ARM's code, else the client-side failure class (JSONDecodeError, ConnectionError...)."""
    if exc is None:
        return None
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    cause = exc.__cause__
    return type(cause if type(exc) is FetchError and cause is not None else exc).__name__


def _subscription_scopes(
    client: ArmClient,
    subscription_ids: str | Iterable[str] | None,
    resource_group: str | None,
    skipped: list[dict],
) -> Iterator[Scope]:
    """The scopes to list; subscriptions are listed page by page, so work starts early."""
    if isinstance(subscription_ids, str):
        subscription_ids = [subscription_ids]
    if subscription_ids is not None:
        seen: set[str] = set()
        for sub in subscription_ids:
            scope = Scope(sub, resource_group)
            if scope.subscription_id and scope.subscription_id not in seen:
                seen.add(scope.subscription_id)
                yield scope
        return
    if resource_group:
        raise FetchError(
            f"resource_group={resource_group!r} needs the subscription it lives in; "
            "pass subscription_ids=... (or --subscription) as well"
        )
    pages = client.iter_pages(
        "/subscriptions", scope="/subscriptions", api_version=SUBSCRIPTIONS_API_VERSION
    )
    for page in pages:
        for entry in page.body.get("value") or []:
            sub = str(entry.get("subscriptionId") or "").strip()
            if not sub:
                continue
            state = str(entry.get("state") or "")
            if state.lower() in SKIPPED_STATES:
                message = (
                    f"subscription {entry.get('displayName') or sub} is {state}: not listed; "
                    "re-enable it or ignore this row"
                )
                skipped.append(_error_row(Scope(sub), "skipped", None, message))
                continue
            yield Scope(sub)


def _read_scope(
    client: ArmClient,
    scope: Scope,
    api_version: str,
    raw_dir: Path | None,
    progress: _Progress,
    stop: threading.Event,
) -> tuple[list[tuple[str, Page]], FetchError | None]:
    """Every page of one scope (named for the archive), and the error that stopped it, if any.

    ``stop`` is set when the fetch is abandoned (Ctrl-C, an error elsewhere): the scope then
    ends after the page in flight instead of reading all its pages.
    """
    pages: list[tuple[str, Page]] = []
    listing = client.iter_pages(
        scope.list_path,
        scope=scope.path,
        api_version=api_version,
        subscription_id=scope.subscription_id,
        resource_group=scope.resource_group,
    )
    while True:
        if stop.is_set():
            return pages, FetchError(f"stopped while listing {scope.path}", scope=scope.path)
        try:
            received = next(listing)
        except StopIteration:
            return pages, None
        except FetchError as exc:
            return pages, exc
        page = _page(received, api_version)
        name = f"{scope.slug}.{len(pages):05d}.json"
        if raw_dir is not None:
            try:
                write_page(page, raw_dir / name)
            except OSError as exc:  # the archive was asked for: stop rather than lose it
                raise FetchError(
                    f"cannot write the raw archive {raw_dir / name}: {exc}; check the folder",
                    scope=scope.path,
                ) from exc
        pages.append((name, page))
        progress.page(len(page.registries))


def _page(received: ListPage, api_version: str) -> Page:
    return Page(
        received.body,
        source=received.url,
        url=received.url,
        fetched_at=received.fetched_at,
        api_version=api_version,
    )


def _flatten_scopes(
    pages: dict[Scope, list[tuple[str, Page]]], provenance: dict[str, Any], rows: list[dict]
) -> RegistryTables:
    """Flatten all pages in archive order; a scope with a broken payload becomes a failure."""

    def ordered(scopes: Iterable[Scope]) -> list[Page]:
        named = [item for scope in scopes for item in pages[scope]]
        return [page for _, page in sorted(named, key=lambda item: item[0])]

    try:
        return flatten(ordered(pages), provenance=provenance)
    except FlattenError:
        good = []
        for scope in pages:
            try:
                flatten(ordered([scope]))
                good.append(scope)
            except FlattenError as exc:
                rows.append(_error_row(scope, "failed", exc, f"{exc}; the scope was left out"))
        return flatten(ordered(good), provenance=provenance)


def fetch_registries(
    subscription_ids: str | Iterable[str] | None = None,
    resource_group: str | None = None,
    *,
    source: str = "arm",
    management_groups: str | Iterable[str] | None = None,
    credential: TokenCredential | None = None,
    endpoint: str = "https://management.azure.com",
    cloud: str | None = None,
    api_version: str = API_VERSION,
    max_workers: int = 16,
    timeout: float | tuple[float, float] = (5, 60),
    max_attempts: int = 6,
    max_retry_after: float = 60.0,
    backoff_base: float = 0.5,
    progress: bool = False,
    raw_dir: str | os.PathLike[str] | None = None,
    session: requests.Session | None = None,
) -> RegistryTables:
    """Read the registries of one resource group, some subscriptions, or all you can see.

    Args:
        subscription_ids: a subscription id, a list of them, or None for every subscription
            the identity sees (``Subscriptions - List``; Disabled/Deleted ones are skipped and
            recorded in ``fetch_errors``).
        resource_group: list only this resource group (``Registries - List``) in the given
            subscription(s).
        source: ``"arm"`` (per subscription, the default) or ``"graph"``: one Azure
            Resource Graph query per tenant, management group or 1,000 subscriptions
            (:func:`~mlreg_frames.sources.graph.fetch_graph`; ``api_version`` and
            ``max_workers`` do not apply). See docs/fetch.md for when to use which.
        management_groups: with ``source="graph"``: read every subscription under these
            management groups.
        credential: anything with ``get_token(scope)``; default ``DefaultAzureCredential()``.
        endpoint: the ARM endpoint (sovereign clouds, the local emulator); the token goes
            only there.
        cloud: ``"public"``, ``"china"`` or ``"usgov"``: sets the endpoint (and token scope).
        api_version: the registries api-version.
        max_workers: scopes read at once (threads and pooled connections).
        timeout: (connect, read) seconds per request.
        max_attempts: requests per page before giving up (429, 5xx, dropped connections).
        max_retry_after: longest ``Retry-After`` honoured, in seconds (longer asks are capped
            and logged).
        backoff_base: first backoff in seconds for 5xx and connection errors (doubles, jittered).
        progress: show a tqdm bar (scopes done, pages, registries, retries).
        raw_dir: save every page as received, with provenance, so
            ``flatten(read_pages(raw_dir))`` rebuilds the tables offline.
        session: a ``requests.Session`` to use (yours to size and close).

    Returns:
        RegistryTables of every scope read (a scope that failed part-way keeps the pages it
        read), with ``fetch_errors`` holding one row per failed or skipped scope and
        ``provenance`` the endpoint, api version, time and scopes.

    Raises:
        FetchError: every scope failed (an ArmError when there was one scope), the
            subscriptions could not be listed, or the endpoint is not safe for a token.

    Example::

        >>> tables = fetch_registries(["sub-a", "sub-b"], max_workers=4)   # doctest: +SKIP
    """
    if source == "graph":
        return fetch_graph(
            subscription_ids, resource_group, management_groups=management_groups,
            credential=credential, endpoint=endpoint, cloud=cloud, timeout=timeout,
            max_attempts=max_attempts, max_retry_after=max_retry_after,
            backoff_base=backoff_base, progress=progress, raw_dir=raw_dir, session=session,
        )  # fmt: skip
    if source != "arm":
        raise FetchError(f"source={source!r} is not one of 'arm', 'graph'")
    if management_groups is not None:
        raise FetchError("management_groups needs source='graph' (--source graph)")
    endpoint = check_endpoint(resolve_endpoint(endpoint, cloud))
    if credential is None:
        credential = default_credential(endpoint)
    own_session = session is None
    if session is None:
        session = make_session(max_workers, loopback=is_loopback(origin(endpoint)[1]))
    bar = _Progress(progress)
    policy = RetryPolicy(max_attempts, max_retry_after, backoff_base)
    client = ArmClient(
        endpoint, credential, session=session, timeout=timeout, retry=policy, on_retry=bar.retry
    )
    raw = Path(raw_dir) if raw_dir is not None else None
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    rows: list[dict] = []
    futures: dict[Scope, Future] = {}
    pages: dict[Scope, list[tuple[str, Page]]] = {}
    failures: list[FetchError] = []
    pool = ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="mlreg-fetch")
    stop = threading.Event()
    try:
        for scope in _subscription_scopes(client, subscription_ids, resource_group, rows):
            if scope not in futures:
                bar.scope_added()
                futures[scope] = pool.submit(
                    _read_scope, client, scope, api_version, raw, bar, stop
                )
                futures[scope].add_done_callback(bar.scope_done)
        for scope, future in futures.items():
            pages[scope], error = future.result()
            if error is not None:
                failures.append(error)
                kept = len(pages[scope])
                note = f" ({kept} page(s) read before the failure are kept)" if kept else ""
                rows.append(_error_row(scope, "failed", error, f"{error}{note}"))
                log.info("listing %s failed: %s", scope.path, error)
    finally:
        stop.set()  # on Ctrl-C or an error, running scopes end after their page in flight
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        if own_session:
            session.close()
    if futures and len(failures) == len(futures):
        if len(failures) == 1:
            raise failures[0]
        raise FetchError(
            f"all {len(futures)} scopes failed; the first: {failures[0]}",
            scope=failures[0].scope,
        )
    provenance = {
        "source": "arm",
        "endpoint": endpoint,
        "api_version": api_version,
        "fetched_at": fetched_at,
        "scopes": [scope.path for scope in futures],
    }
    tables = _flatten_scopes(pages, provenance, rows)
    frame = pd.DataFrame(rows, columns=list(schema.FETCH_ERRORS.column_names))
    tables.fetch_errors = schema.conform("fetch_errors", frame).sort_values(
        "scope", ignore_index=True
    )
    return tables
