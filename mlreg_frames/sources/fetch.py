"""Fetch every registry an identity can see: scopes, concurrency, partial failure, progress.

:func:`fetch_registries` lists subscriptions (unless given), then runs ``Registries - List By
Subscription`` (or ``Registries - List`` for a resource group) for every scope on a thread
pool sharing one connection pool. Pages within a scope are read in order; scopes run at once.
A failing scope never drops the others: whatever goes wrong inside it (an ARM error, a broken
or endless page chain, a limit, a payload the flattener refuses, an unexpected exception)
becomes a row of ``tables.fetch_errors`` with an ``error_code``, and only when every scope
fails does the call raise. The workers read and parse pages; each scope's pages go in batches
of :data:`FLATTEN_BATCH` to one walker thread (:mod:`.walker`) that turns them into Arrow
columns while the workers wait on the network, and at most a few pages per worker are held as
JSON. Memory stays flat however many scopes there are: a page with no registries is only
counted, a finished scope is merged into one growing set of tables
(:mod:`mlreg_frames.flatten.gather`), and at most a few scopes per worker are submitted and
not yet collected (:mod:`.dispatch`), so 50,000 empty subscriptions fit in a few tens of MB.
HTTP, retries, limits and the token guard live in :mod:`mlreg_frames.sources.client`;
turning pages into tables in :mod:`mlreg_frames.flatten`.

Example::

    >>> import mlreg_frames as mf
    >>> tables = mf.fetch_registries()                              # doctest: +SKIP
    >>> tables = mf.fetch_registries("<sub>", "rg-ml", raw_dir="raw/")  # doctest: +SKIP
    >>> tables.fetch_errors[["scope", "outcome", "error_code"]]     # doctest: +SKIP
    >>> mf.flatten(mf.read_pages("raw/")).registries.equals(tables.registries)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
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
from .._gc import paused_gc
from ..errors import FetchError, InvalidArgumentError
from ..flatten import engine, frames
from ..flatten.gather import Gatherer
from ..flatten.subscriptions import is_subscription_id, subscriptions_frame
from ..pages import SUBSCRIPTIONS_FILE, Page, write_page, write_subscriptions
from ..tables import RegistryTables
from .arguments import CommonArguments, number_argument, text_argument
from .auth import (
    TokenCredential,
    check_endpoint,
    default_credential,
    is_loopback,
    origin,
    resolve_endpoint,
)
from .client import ArmClient, ListPage, RetryPolicy, make_session
from .dispatch import Dispatcher
from .graph import fetch_graph
from .guard import REDACTOR, guarded_logger
from .limits import (
    DEFAULT_MAX_PAGE_BYTES,
    DEFAULT_MAX_PAGES,
    DEFAULT_REQUEST_TIMEOUT,
    FetchLimits,
)
from .walker import PageWalker, ScopeResult, is_empty

__all__ = [
    "API_VERSION",
    "FLATTEN_BATCH",
    "SKIPPED_STATES",
    "SUBSCRIPTIONS_API_VERSION",
    "Scope",
    "fetch_registries",
]

log = guarded_logger(__name__)

API_VERSION = "2025-09-01"
"""The ``Microsoft.MachineLearningServices`` api-version used unless told otherwise."""

SUBSCRIPTIONS_API_VERSION = "2022-12-01"
"""The api-version of ``Subscriptions - List`` (``Microsoft.Resources``)."""

SKIPPED_STATES = frozenset({"disabled", "deleted"})
"""Subscription states that are recorded as skipped instead of listed."""

FLATTEN_BATCH = 4
"""Pages of one scope handed to the walker together: the JSON alive per worker is at most this
many pages (plus the one in flight, plus its share of the walker's queue of ``max_workers``
batches); the tables built from them are far smaller."""

_PROVIDER = "providers/Microsoft.MachineLearningServices/registries"
_ARCHIVE_FAILED = "RawArchiveUnwritable"
_WINDOW = 4  # scopes submitted and not yet collected, per worker (see .dispatch)


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
    """A tqdm bar over scopes with pages, registries, retries and failures as postfix.

    The bar appears with the first page received once every scope is known (subscriptions
    are listed page by page while the first scopes are already read), so its total is right
    from the start; a fetch that fails at once (no network, a refused endpoint) prints its
    one-line error and nothing else.
    """

    def __init__(self, enabled: bool):
        self._lock = threading.Lock()
        self.counts = {"pages": 0, "registries": 0, "retries": 0, "failed": 0}
        self._enabled = enabled
        self._bar: Any = None
        self._total = 0
        self._done = 0
        self._listed = False

    def _bump(self, scopes: int = 0, done: int = 0, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                self.counts[key] += value
            self._total += scopes
            self._done += done
            if self._bar is None:
                if not (self._enabled and self.counts["pages"] and self._listed):
                    return
                from tqdm.auto import tqdm

                self._bar = tqdm(
                    total=self._total or None, initial=self._done, desc="scopes", unit="scope",
                    file=sys.stderr,
                )  # fmt: skip
            else:
                if scopes:
                    self._bar.total = self._total
                self._bar.update(done)
            self._bar.set_postfix(self.counts, refresh=False)

    def scope_added(self) -> None:
        self._bump(scopes=1)

    def all_added(self) -> None:
        """Every scope is known: the bar may show its total."""
        with self._lock:
            self._listed = True
        self._bump()

    def scope_done(self, future: Future) -> None:
        # A scope the walker leaves out is counted by left_out(), once the walk is over.
        if future.cancelled() or future.exception() is not None:
            failed = True
        else:
            failed = future.result().error is not None
        self._bump(done=1, failed=int(failed))

    def left_out(self) -> None:
        self._bump(failed=1)

    def page(self, registries: int) -> None:
        self._bump(pages=1, registries=registries)

    def retry(self, reason: str, wait: float) -> None:
        self._bump(retries=1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _error_row(scope: Scope | str, outcome: str, exc: BaseException | None, message: str) -> dict:
    path = scope.path if isinstance(scope, Scope) else scope
    return {
        "scope": path,
        "subscription_id": scope.subscription_id if isinstance(scope, Scope) else None,
        "resource_group": scope.resource_group if isinstance(scope, Scope) else None,
        "outcome": outcome,
        "http_status": getattr(exc, "status", None),
        "error_code": _error_code(exc),
        "message": REDACTOR.redact(message),
        "request_id": getattr(exc, "request_id", None),
    }


def _error_code(exc: BaseException | None) -> str | None:
    """The error's code (ARM's, or a limit's), else the failure's class (JSONDecodeError...)."""
    if exc is None:
        return None
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    cause = exc.__cause__
    return type(cause if type(exc) is FetchError and cause is not None else exc).__name__


def _unexpected(exc: Exception, scope: Scope, doing: str) -> FetchError:
    """An exception no layer below turned into a FetchError, as one (its class is the code)."""
    REDACTOR.scrub(exc)
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    error = FetchError(
        f"unexpected {type(exc).__name__} while {doing} {scope.path}: {REDACTOR.redact(text)}; "
        "the other scopes are kept (rerun with logging at DEBUG and report it if it persists)",
        scope=scope.path,
        code=type(exc).__name__,
    )
    error.__cause__ = exc
    return error


# --- arguments ----------------------------------------------------------------------------


# --- scopes -------------------------------------------------------------------------------


def _subscription_scopes(
    client: ArmClient,
    subscription_ids: str | Iterable[str] | None,
    resource_group: str | None,
    rows: list[dict],
    listed: list[dict],
) -> Iterator[Scope]:
    """The scopes to list; subscriptions are listed page by page, so work starts early.

    A failure of ``Subscriptions - List`` (an error, a malformed page) raises when no scope
    was found yet, else becomes the ``/subscriptions`` row of ``fetch_errors`` and the
    scopes found so far are read. Entries that are not subscription objects are skipped and
    counted in that row.
    """
    if isinstance(subscription_ids, str):
        subscription_ids = [subscription_ids]
    if subscription_ids is not None:
        listed.extend(_names(client))
        seen: set[str] = set()
        for sub in subscription_ids:
            scope = Scope(sub, resource_group)
            if scope.subscription_id not in seen:
                seen.add(scope.subscription_id)
                yield scope
        return
    if resource_group:
        raise FetchError(
            f"resource_group={resource_group!r} needs the subscription it lives in; "
            "pass subscription_ids=... (or --subscription) as well"
        )
    found = bad = 0
    pages = client.iter_pages(
        "/subscriptions", scope="/subscriptions", api_version=SUBSCRIPTIONS_API_VERSION
    )
    try:
        for page in pages:
            value = page.body.get("value")
            if value is not None and not isinstance(value, list):
                raise FetchError(
                    f"a Subscriptions - List page has a `value` that is a "
                    f"{type(value).__name__}, not a list (request id "
                    f"{page.request_id or 'none'}); retry later, or pass subscription_ids=",
                    url=page.url,
                    scope="/subscriptions",
                    code="MalformedPage",
                )
            for entry in value or []:
                found_scope, malformed = _subscription_entry(entry, rows)
                bad += malformed
                if not malformed:
                    listed.append(entry)
                if found_scope is not None:
                    found += 1
                    yield found_scope
    except FetchError as exc:
        if not found:
            raise
        note = f"; {bad} malformed entries were skipped too" if bad else ""
        rows.append(
            _error_row(
                "/subscriptions",
                "failed",
                exc,
                f"{exc} (the {found} subscriptions listed before the failure were read){note}",
            )
        )
        return
    if bad:
        rows.append(
            _error_row(
                "/subscriptions",
                "failed",
                FetchError("", code="MalformedEntry"),
                f"{bad} Subscriptions - List entries were not subscription objects with a "
                "subscriptionId and were skipped; pass subscription_ids= to list them",
            )
        )


def _names(client: ArmClient) -> list[dict]:
    """Subscriptions - List, for the names of subscriptions given by id: one cheap call that
    fails softly (an identity that may read registries but not list subscriptions gets
    ids only, ``listed`` false)."""
    entries: list[dict] = []
    try:
        for page in client.iter_pages(
            "/subscriptions", scope="/subscriptions", api_version=SUBSCRIPTIONS_API_VERSION
        ):
            value = page.body.get("value")
            entries += [e for e in value if _listed(e)] if isinstance(value, list) else []
    except FetchError as exc:
        log.info("Subscriptions - List failed; subscriptions are shown by id: %s", exc)
    return entries


def _listed(entry: object) -> bool:
    return isinstance(entry, dict) and is_subscription_id(entry.get("subscriptionId"))


def _subscription_table(
    listed: list[dict], scopes: dict[Scope, str], rows: list[dict], explicit: bool
) -> tuple[pd.DataFrame, list[dict], dict[str, str | None]]:
    """(the subscriptions table, the entries and outcomes it was built of, for the archive).

    Outcome per subscription: ``failed`` when any of its scopes failed, ``skipped`` for a
    Disabled or Deleted one, else ``fetched``. With ids given, only those subscriptions.
    """
    outcomes: dict[str, str | None] = {}
    for row in rows:
        if row["outcome"] == "skipped" and row["subscription_id"]:
            outcomes[row["subscription_id"]] = "skipped"
    for scope, outcome in scopes.items():
        if outcomes.get(scope.subscription_id) != "failed":
            outcomes[scope.subscription_id] = outcome
    entries = [
        e for e in listed
        if not explicit or e["subscriptionId"].strip().lower() in outcomes
    ]  # fmt: skip
    return subscriptions_frame(entries, outcomes), entries, outcomes


def _subscription_entry(entry: object, rows: list[dict]) -> tuple[Scope | None, bool]:
    """(the scope of one ``Subscriptions - List`` entry or None, whether it is malformed)."""
    if not isinstance(entry, dict):
        return None, True
    sub = entry.get("subscriptionId")
    if not isinstance(sub, str) or not sub.strip() or any(c in sub for c in "/?#\\%"):
        return None, True
    state = entry.get("state")
    state = state if isinstance(state, str) else ""
    if state.lower() in SKIPPED_STATES:
        name = entry.get("displayName")
        message = (
            f"subscription {name if isinstance(name, str) and name else sub} is {state}, so "
            "its registries were not read; re-enable it to fetch them"
        )
        rows.append(_error_row(Scope(sub), "skipped", None, message))
        return None, False
    return Scope(sub), False


# The hand-off to the flattener is at the Arrow level: ``flatten()`` turns its result into
# pandas on every call (tens of ms for seven tables), which per scope would cost more than the
# parse; walking each batch to Arrow (in the walker thread) and converting once at the end
# gives exactly ``flatten(pages)`` (same chunk walk, same merge) at the cost of one conversion.


@dataclass(frozen=True)
class _ScopeReader:
    """What every scope's read shares: the client, api-version, raw archive, progress bar,
    stop flag and walker. One instance serves all the workers."""

    client: ArmClient
    api_version: str
    raw_dir: Path | None
    progress: _Progress
    stop: threading.Event
    walker: PageWalker

    def read(self, scope: Scope) -> ScopeResult:
        """Read one scope's pages and hand them to the walker in batches as they arrive.

        Any failure while listing ends the scope (the pages read are kept); any failure
        while walking leaves the whole scope out (the walker records it); both are recorded
        in the result, never raised. Only a failure to write the raw archive the caller
        asked for is raised. ``stop`` is set when the fetch is abandoned (Ctrl-C, an error
        elsewhere): the scope then ends after the page in flight.
        """
        result = ScopeResult()
        try:
            self._pages(scope, result)
        except FetchError as exc:
            if exc.code == _ARCHIVE_FAILED:
                raise
            result.error = exc
        except Exception as exc:  # a safety net: it is this scope's failure only
            result.error = _unexpected(exc, scope, "reading")
            result.pages = result.handed + result.empty_pages  # what is kept
        finally:
            self.walker.finish(result)  # once walked, the scope is merged as it is
        return result

    def _pages(self, scope: Scope, result: ScopeResult) -> None:
        """The loop of :meth:`read`: pages in, batches handed over, failures into ``result``."""
        batch: list[tuple[str, Page]] = []
        listing = self.client.iter_pages(
            scope.list_path,
            scope=scope.path,
            api_version=self.api_version,
            subscription_id=scope.subscription_id,
            resource_group=scope.resource_group,
        )
        while True:
            if self.stop.is_set():
                result.error = FetchError(f"stopped while listing {scope.path}", scope=scope.path)
                break
            try:
                received = next(listing)
            except StopIteration:
                break
            except FetchError as exc:
                result.error = exc
                break
            except Exception as exc:  # whatever it is, it is this scope's failure only
                result.error = _unexpected(exc, scope, "listing")
                break
            page = _page(received, self.api_version)
            name = f"{scope.slug}.{result.pages:05d}.json"
            result.pages += 1
            if self.raw_dir is not None:
                self._archive(page, self.raw_dir / name, scope)
            self.progress.page(len(page.registries) if isinstance(page.registries, list) else 0)
            if is_empty(page):  # it would walk to nothing: counted, never handed over
                result.empty_pages += 1
                continue
            batch.append((name, page))
            if len(batch) >= FLATTEN_BATCH:
                self.walker.submit(batch, result)
                batch = []
        self.walker.submit(batch, result)

    @staticmethod
    def _archive(page: Page, path: Path, scope: Scope) -> None:
        try:
            write_page(page, path)
        except OSError as exc:  # the archive was asked for: stop rather than lose it
            raise FetchError(
                f"cannot write the raw archive {path}: {exc}; check the folder",
                scope=scope.path,
                code=_ARCHIVE_FAILED,
            ) from exc


def _page(received: ListPage, api_version: str) -> Page:
    return Page(
        received.body,
        source=received.url,
        url=received.url,
        fetched_at=received.fetched_at,
        api_version=api_version,
    )


def _combine(gathered: Gatherer, provenance: dict[str, Any]) -> RegistryTables:
    """The scopes' tables as one, exactly as ``flatten`` of all pages in archive order.

    The walker merged each finished scope as it came (:mod:`mlreg_frames.flatten.gather`):
    rows come out in archive order (scope, then page), and a registry found in several
    scopes is kept from the last one only, as ``flatten`` keeps the last one seen.
    """
    arrows, inputs, api_versions, skipped = gathered.result()
    engine.warn_skipped(skipped, stacklevel=4)
    prov: dict[str, Any] = {"inputs": inputs, "registries": arrows["registries"].num_rows}
    if api_versions:
        prov["api_versions"] = sorted(api_versions)
    prov.update(provenance)
    return frames.to_tables(arrows, prov)


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
    max_pages: int = DEFAULT_MAX_PAGES,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    progress: bool = False,
    raw_dir: str | os.PathLike[str] | None = None,
    session: requests.Session | None = None,
) -> RegistryTables:
    """Read the registries of one resource group, some subscriptions, or all you can see.

    Args:
        subscription_ids: a subscription id, a list of them, or None for every subscription
            the identity sees (``Subscriptions - List``; Disabled/Deleted ones are skipped and
            recorded in ``fetch_errors``). A list is checked whole before any request; an
            iterator is checked item by item as it is read.
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
        max_workers: scopes read at once (threads and pooled connections). ARM gives each
            principal, per subscription and region, a bucket of 250 reads refilled at 25 per
            second; one worker per subscription spends a few reads per second at most.
        timeout: (connect, read) seconds per request: the read part is the longest silence.
        max_attempts: requests per page before giving up (429, 5xx, dropped connections).
        max_retry_after: longest ``Retry-After`` honoured, in seconds (longer asks are capped
            and logged).
        backoff_base: first backoff in seconds for 5xx and connection errors (doubles, jittered).
        max_pages: pages per scope at most; more fails the scope (``MaxPagesExceeded``).
        max_page_bytes: decompressed bytes per page at most, counted while streaming; more
            fails the scope (``PageTooLarge``).
        request_timeout: seconds one request may take in all, first byte to last; more fails
            the scope (``RequestDeadlineExceeded``): a server dripping bytes cannot stall it.
        progress: show a tqdm bar (scopes done, pages, registries, retries).
        raw_dir: save every page as received, with provenance, so
            ``flatten(read_pages(raw_dir))`` rebuilds the tables offline.
        session: a ``requests.Session`` to use (yours to size and close; mount a
            :class:`~mlreg_frames.sources.WatchedAdapter` on it so ``request_timeout`` bounds
            the wait for headers too).

    Returns:
        RegistryTables of every scope read (a scope that failed part-way keeps the pages it
        read), with ``fetch_errors`` holding one row per failed or skipped scope and
        ``provenance`` the endpoint, api version, time and scopes.

    Raises:
        InvalidArgumentError: an argument is out of range or of the wrong type (before any
            request is sent).
        FetchError: every scope failed (an ArmError when there was one scope), the
            subscriptions could not be listed, the credential gave no usable token, or the
            endpoint is not safe for a token.

    Example::

        >>> tables = fetch_registries(["sub-a", "sub-b"], max_workers=4)   # doctest: +SKIP
    """
    if source not in ("arm", "graph"):
        raise InvalidArgumentError(
            f"source must be 'arm' or 'graph', got {source!r}", argument="source"
        )
    if management_groups is not None and source != "graph":
        raise InvalidArgumentError(
            "management_groups needs source='graph' (--source graph)", argument="management_groups"
        )
    text_argument("api_version", api_version, allow_none=False)
    max_workers = number_argument("max_workers", max_workers, 1, whole=True)
    common = CommonArguments.checked(
        subscription_ids, resource_group, endpoint, timeout, max_attempts, max_retry_after,
        backoff_base, credential, raw_dir,
    )  # fmt: skip
    subscription_ids, resource_group = common.subscription_ids, common.resource_group
    timeout = common.timeout
    limits = FetchLimits(max_pages, max_page_bytes, request_timeout)
    if source == "graph":
        return fetch_graph(
            subscription_ids, resource_group, management_groups=management_groups,
            credential=credential, endpoint=endpoint, cloud=cloud, timeout=timeout,
            max_attempts=max_attempts, max_retry_after=max_retry_after,
            backoff_base=backoff_base, progress=progress, raw_dir=raw_dir, session=session,
            limits=limits,
        )  # fmt: skip
    endpoint = check_endpoint(resolve_endpoint(endpoint, cloud))
    if credential is None:
        credential = default_credential(endpoint)
    own_session = session is None
    if session is None:
        session = make_session(max_workers, loopback=is_loopback(origin(endpoint).host))
    bar = _Progress(progress)
    policy = RetryPolicy(max_attempts, max_retry_after, backoff_base)
    client = ArmClient(
        endpoint,
        credential,
        session=session,
        timeout=timeout,
        retry=policy,
        limits=limits,
        on_retry=bar.retry,
    )
    raw = Path(raw_dir) if raw_dir is not None else None
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    rows: list[dict] = []
    failures: list[FetchError] = []
    pool = ThreadPoolExecutor(max_workers, thread_name_prefix="mlreg-fetch")
    stop = threading.Event()
    cleanup = contextlib.ExitStack()
    cleanup.enter_context(paused_gc())  # the walk builds many objects that live on: no rescans
    walker = PageWalker(capacity=max_workers, stop=stop)
    reader = _ScopeReader(client, api_version, raw, bar, stop, walker)
    runner = Dispatcher(pool, reader.read, _WINDOW * max_workers, bar.scope_done)
    seen: set[Scope] = set()
    listed: list[dict] = []
    outcome: dict[Scope, str] = {}
    try:
        client.token()  # a credential that gives no usable token fails once, before any request
        scopes_in = _subscription_scopes(client, subscription_ids, resource_group, rows, listed)
        for scope in scopes_in:
            if scope not in seen:
                seen.add(scope)
                bar.scope_added()
                runner.submit(scope)
        bar.all_added()
        runner.drain()
        walker.close()  # every batch handed over is walked: the results are complete
        outcome.update(dict.fromkeys(runner.scopes, "fetched"))  # empty scopes are not kept
        for scope, result in runner.kept.items():
            failed = result.error is not None or result.left_out is not None
            outcome[scope] = "failed" if failed else "fetched"
            if result.error is not None:
                error = result.error
                failures.append(error)
                kept = result.pages if result.left_out is None else 0
                note = f" ({kept} page(s) read before the failure are kept)" if kept else ""
                rows.append(_error_row(scope, "failed", error, f"{error}{note}"))
                log.info("listing %s failed: %s", scope.path, error)
            elif result.left_out is not None:
                bar.left_out()
                message = f"{result.left_out}; the scope was left out"
                rows.append(_error_row(scope, "failed", result.left_out, message))
                log.info("flattening %s failed: %s", scope.path, result.left_out)
    finally:
        stop.set()  # on Ctrl-C or an error, running scopes end after their page in flight
        pool.shutdown(wait=True, cancel_futures=True)
        walker.close()
        bar.close()
        if own_session:
            session.close()
        cleanup.close()
    scopes = runner.scopes
    if scopes and len(failures) == len(scopes):
        if len(failures) == 1:
            raise failures[0]
        raise FetchError(
            f"all {len(scopes)} scopes failed; the first: {failures[0]}",
            scope=failures[0].scope,
        )
    provenance = {
        "source": "arm",
        "endpoint": endpoint,
        "api_version": api_version,
        "fetched_at": fetched_at,
        "scopes": [scope.path for scope in scopes],
    }
    walker.gathered.count(runner.empty_pages, {api_version} if runner.empty_pages else set())
    with paused_gc():
        tables = _combine(walker.gathered, provenance)
    frame = pd.DataFrame(rows, columns=list(schema.FETCH_ERRORS.column_names))
    tables.fetch_errors = schema.conform("fetch_errors", frame).sort_values(
        "scope", ignore_index=True
    )
    explicit = subscription_ids is not None
    tables.subscriptions, entries, outcomes = _subscription_table(listed, outcome, rows, explicit)
    if raw is not None:
        write_subscriptions(
            entries, outcomes, raw / SUBSCRIPTIONS_FILE,
            url=f"{endpoint}/subscriptions", fetched_at=fetched_at,
        )  # fmt: skip
    return tables
