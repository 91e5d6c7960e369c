"""Fetch what registries hold: their models, environments, components, data and code.

:func:`fetch_assets` lists, for every registry and asset type asked for, the containers
(``GET {registry}/{type}``, with ``listViewType=All`` for models, environments and data so
archived assets are not hidden) and, unless ``versions=False``, every container's versions
(one list per container: ARM has no "all versions" call). ``nextLink`` s are followed
verbatim. Requests are paced per subscription by ARM's remaining-reads header
(:mod:`.pacing`; a 429's ``Retry-After`` is the backstop), subscriptions run side by side
with their share of ``max_workers``, and everything else (the token guard, retries, limits,
argument checks) is the registry fetch's (:mod:`.client`, :mod:`.arguments`).

A failure is data: a 403 (``UnAuthorizedRegistryAccess``), a 404 or a page the flattener
refuses in one registry, type or container becomes one ``fetch_errors`` row (``scope`` is the
list's path) and never loses the others; only when every list fails does the call raise.
With ``raw_dir`` every page is saved as received, so ``flatten_assets(read_pages(raw_dir))``
gives the same tables (refused pages go under ``_refused/``, which ``read_pages`` skips).

Example::

    >>> import mlreg_frames as mf
    >>> tables = mf.fetch_registries()                       # doctest: +SKIP
    >>> assets = mf.fetch_assets(tables, raw_dir="raw/")     # doctest: +SKIP
    >>> assets.asset_versions.groupby(["registry_id", "asset_type"]).size()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import requests

from .. import schema
from ..assettables import AssetTables
from ..errors import FetchError, FlattenError, InvalidArgumentError
from ..flatten.assets import container_names, flatten_assets
from ..pages import Page, write_page
from ..tables import RegistryTables
from .arguments import CommonArguments, number_argument, text_argument
from .assetargs import asset_types_argument, registry_ids_argument
from .auth import (
    TokenCredential,
    check_endpoint,
    default_credential,
    is_loopback,
    origin,
    resolve_endpoint,
)
from .client import RetryPolicy, make_session
from .fetch import API_VERSION
from .guard import REDACTOR, guarded_logger
from .limits import DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_PAGES, DEFAULT_REQUEST_TIMEOUT, FetchLimits
from .pacing import PacedArmClient

__all__ = ["VIEW_TYPES", "fetch_assets"]

log = guarded_logger(__name__)

VIEW_TYPES = frozenset({"models", "environments", "data"})
"""Asset types whose lists take ``listViewType`` (All is asked for, so archived ones show)."""


@dataclass
class _Listing:
    """One list call: a registry's containers of a type, or one container's versions."""

    registry_id: str
    asset_type: str
    container: str | None = None
    pages: list[tuple[str, Page]] = field(default_factory=list)

    @property
    def path(self) -> str:
        tail = f"/{quote(self.container, safe='')}/versions" if self.container else ""
        return f"{self.registry_id}/{self.asset_type}{tail}"

    @property
    def slug(self) -> str:
        parts = self.registry_id.split("/")
        name = f"{self.asset_type}.{quote(self.container or '_', safe='')}"
        return f"{parts[2]}/{parts[4]}/{parts[-1]}/{name}"


def _error_row(listing: _Listing, exc: BaseException) -> dict[str, Any]:
    parts = listing.registry_id.split("/")
    return {
        "scope": listing.path,
        "subscription_id": parts[2],
        "resource_group": parts[4],
        "outcome": "failed",
        "http_status": getattr(exc, "status", None),
        "error_code": getattr(exc, "code", None) or type(exc).__name__,
        "message": REDACTOR.redact(str(exc)),
        "request_id": getattr(exc, "request_id", None),
    }


class _Reader:
    """Reads listings with one paced client; shared by every subscription's workers."""

    def __init__(self, client: PacedArmClient, api_version: str, raw: Path | None):
        self.client = client
        self.api_version = api_version
        self.raw = raw
        self.lock = threading.Lock()
        self.kept: list[tuple[str, Page]] = []
        self.errors: list[dict[str, Any]] = []
        self.listings = 0

    def read(self, listing: _Listing, versions: bool) -> list[_Listing]:
        """Read one listing's pages; return the version listings it leads to."""
        url = self.client.url(listing.path, self.api_version)
        if listing.asset_type in VIEW_TYPES:
            url += "&listViewType=All"
        error: BaseException | None = None
        try:
            for received in self.client.iter_pages(
                url, scope=listing.path, api_version=self.api_version,
                subscription_id=listing.registry_id.split("/")[2],
            ):  # fmt: skip
                page = Page(received.body, received.url, received.url, received.fetched_at,
                            self.api_version)  # fmt: skip
                listing.pages.append((f"{listing.slug}.{len(listing.pages):05d}.json", page))
        except FetchError as exc:
            error = exc
        except Exception as exc:  # a safety net: it is this listing's failure only
            REDACTOR.scrub(exc)
            error = FetchError(
                f"unexpected {type(exc).__name__} while listing {listing.path}; the other "
                "lists are kept",
                scope=listing.path,
                code=type(exc).__name__,
            )
        try:
            names = container_names([p for _, p in listing.pages])
        except FlattenError as exc:
            self._archive(listing, refused=True)
            self._record(listing, [], exc)
            return []
        self._archive(listing, refused=False)
        self._record(listing, listing.pages, error)
        if not versions or listing.container is not None:
            return []
        return [_Listing(listing.registry_id, listing.asset_type, name) for name in names]

    def _record(
        self, listing: _Listing, pages: list[tuple[str, Page]], error: BaseException | None
    ) -> None:
        with self.lock:
            self.listings += 1
            self.kept += pages
            if error is not None:
                kept = f" ({len(pages)} page(s) read before it are kept)" if pages else ""
                row = _error_row(listing, error)
                row["message"] += kept
                self.errors.append(row)
                log.info("listing %s failed: %s", listing.path, error)

    def _archive(self, listing: _Listing, *, refused: bool) -> None:
        if self.raw is None:
            return
        folder = self.raw / ("_refused" if refused else "")
        for name, page in listing.pages:
            try:
                write_page(page, folder / name)
            except OSError as exc:
                raise FetchError(
                    f"cannot write the raw archive {folder / name}: {exc}; check the folder",
                    scope=listing.path,
                    code="RawArchiveUnwritable",
                ) from exc


def _subscription(reader: _Reader, listings: list[_Listing], workers: int, versions: bool,
                  stop: threading.Event) -> None:  # fmt: skip
    """Read one subscription's listings on its own workers (container lists lead to versions).

    A failure that must stop the fetch (the raw archive cannot be written, Ctrl-C) sets
    ``stop``: lists not started yet are cancelled, here and in the other subscriptions.
    """
    pool = ThreadPoolExecutor(workers, thread_name_prefix="mlreg-assets")
    try:
        pending: set[Future[list[_Listing]]] = {
            pool.submit(reader.read, listing, versions) for listing in listings
        }
        while pending and not stop.is_set():
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                more = future.result()
                if not stop.is_set():
                    pending |= {pool.submit(reader.read, m, versions) for m in more}
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Bar:
    """A tqdm bar counting requests (429s as a postfix), shown only when asked for."""

    def __init__(self, enabled: bool):
        self._bar: Any = None
        self._lock = threading.Lock()
        self.throttled = 0
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc="asset requests", unit="req", file=sys.stderr)

    def answer(self, status: int | None) -> None:
        if self._bar is None:
            return
        with self._lock:
            self.throttled += status == 429
            self._bar.update(1)
            if status == 429:
                self._bar.set_postfix({"429": self.throttled}, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def fetch_assets(
    registries: RegistryTables | pd.DataFrame | Iterable[str],
    *,
    asset_types: Iterable[str] | None = None,
    versions: bool = True,
    credential: TokenCredential | None = None,
    endpoint: str = "https://management.azure.com",
    cloud: str | None = None,
    api_version: str = API_VERSION,
    max_workers: int = 16,
    progress: bool = False,
    raw_dir: str | os.PathLike[str] | None = None,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = (5, 60),
    max_attempts: int = 6,
    max_retry_after: float = 60.0,
    backoff_base: float = 0.5,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> AssetTables:
    """Read what registries hold: asset containers and their versions, as tidy tables.

    Args:
        registries: a :class:`~mlreg_frames.RegistryTables`, a DataFrame with a
            ``registry_id`` column, or an iterable of registry ARM ids.
        asset_types: any subset of ``("models", "environments", "components", "data",
            "codes")``; None lists them all.
        versions: also list every container's versions (one request per container);
            False lists containers only.
        credential, endpoint, cloud, api_version, session: as for
            :func:`~mlreg_frames.fetch_registries`; the token goes only to ``endpoint``.
        max_workers: requests in flight at most, shared out among the subscriptions (each
            paced by its own read bucket).
        progress: show a tqdm bar counting requests (and 429s).
        raw_dir: save every page as received under ``raw_dir`` (see the module doc).
        timeout, max_attempts, max_retry_after, backoff_base, max_pages, max_page_bytes,
            request_timeout: the limits and retries of :func:`~mlreg_frames.fetch_registries`.

    Returns:
        AssetTables equal to ``flatten_assets`` of the pages read, with ``fetch_errors``
        holding one row per list that failed and ``provenance`` the endpoint, api version,
        time, requests and 429s.

    Raises:
        InvalidArgumentError: an argument is wrong (before any request).
        FetchError: every list failed, or the credential gave no usable token, or the
            endpoint is not safe for a token.

    Example::

        >>> assets = fetch_assets(["/subscriptions/<id>/resourceGroups/rg/providers/"
        ...     "Microsoft.MachineLearningServices/registries/reg"], asset_types=["models"])
        ... # doctest: +SKIP
    """
    ids = registry_ids_argument(registries)
    kinds = asset_types_argument(asset_types)
    if not isinstance(versions, bool):
        raise InvalidArgumentError(f"versions must be True or False, got {versions!r}",
                                   argument="versions")  # fmt: skip
    text_argument("api_version", api_version, allow_none=False)
    max_workers = number_argument("max_workers", max_workers, 1, whole=True)
    common = CommonArguments.checked(
        None, None, endpoint, timeout, max_attempts, max_retry_after, backoff_base, credential,
        raw_dir,
    )  # fmt: skip
    limits = FetchLimits(max_pages, max_page_bytes, request_timeout)
    endpoint = check_endpoint(resolve_endpoint(endpoint, cloud))
    if credential is None:
        credential = default_credential(endpoint)
    by_sub: dict[str, list[_Listing]] = {}
    for rid in ids:
        by_sub.setdefault(rid.split("/")[2], []).extend(_Listing(rid, kind) for kind in kinds)
    own_session = session is None
    if session is None:
        session = make_session(max_workers, loopback=is_loopback(origin(endpoint).host))
    bar = _Bar(progress)
    client = PacedArmClient(
        endpoint, credential, session=session, timeout=common.timeout,
        retry=RetryPolicy(max_attempts, max_retry_after, backoff_base), limits=limits,
        on_answer=bar.answer,
    )  # fmt: skip
    reader = _Reader(client, api_version, Path(raw_dir) if raw_dir is not None else None)
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    stop = threading.Event()
    try:
        if by_sub:
            client.token()  # a credential without a usable token fails once, up front
            at_once = min(len(by_sub), max_workers)
            share = max(1, max_workers // at_once)
            with ThreadPoolExecutor(at_once, thread_name_prefix="mlreg-subs") as subs:
                futures = [
                    subs.submit(_subscription, reader, listings, share, versions, stop)
                    for listings in by_sub.values()
                ]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    stop.set()  # the other subscriptions end after their lists in flight
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        stop.set()
        bar.close()
        if own_session:
            session.close()
    if reader.listings and len(reader.errors) == reader.listings and not reader.kept:
        raise FetchError(
            f"all {reader.listings} asset lists failed; the first: {reader.errors[0]['message']}",
            scope=reader.errors[0]["scope"],
            code=reader.errors[0]["error_code"],
        )
    tables = flatten_assets([page for _, page in sorted(reader.kept, key=lambda kp: kp[0])])
    pacers = client.pacers.values()
    tables.provenance = {
        "source": "arm",
        "endpoint": endpoint,
        "api_version": api_version,
        "fetched_at": fetched_at,
        "registries": len(ids),
        "asset_types": list(kinds),
        "versions": versions,
        "requests": sum(p.requests for p in pacers),
        "throttled": sum(p.throttled for p in pacers),
        "listed": tables.provenance["listed"],
    }
    frame = pd.DataFrame(reader.errors, columns=list(schema.FETCH_ERRORS.column_names))
    tables.fetch_errors = schema.conform("fetch_errors", frame).sort_values(
        "scope", ignore_index=True
    )
    return tables
