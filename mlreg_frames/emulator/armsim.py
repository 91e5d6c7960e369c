"""What ARM answers to the registry list operations, with faults: no sockets, no threads.

:class:`ArmModel` holds registries grouped by subscription and resource group, the
``Subscriptions - List`` entries and the injected :class:`Fault` s, and turns one request
(path, query, Authorization header) into an :class:`Answer`: status, headers and an ARM body.
:class:`mlreg_frames.emulator.ArmEmulator` puts it behind a real HTTP server.

Example::

    >>> model = ArmModel([{"id": "/subscriptions/s/resourceGroups/g/providers/"
    ...                    "Microsoft.MachineLearningServices/registries/r"}])
    >>> model.answer("/subscriptions?api-version=1", "Bearer t", "http://x").status
    200
    >>> model.answer("/subscriptions", "Bearer t", "http://x").status   # no api-version
    400
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from ..errors import PagesError
from .assetsim import ASSET_ROUTE, READS_HEADER, AssetModel, ReadBucket, load_asset_pages

__all__ = ["Answer", "ArmModel", "Fault", "load_pages", "sample_dir"]

_PROVIDER = "providers/microsoft.machinelearningservices/registries"
_ROUTES = (
    ("subscriptions", re.compile(r"^/subscriptions/?$", re.I)),
    ("subscription", re.compile(rf"^/subscriptions/([^/]+)/{_PROVIDER}/?$", re.I)),
    ("group", re.compile(rf"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/{_PROVIDER}/?$", re.I)),
)
_ID = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/", re.I)
_STATUS_FAULTS = (
    "throttle",
    "error",
    "forbidden",
    "malformed",
    "not_a_list",
    "huge",
    "gzip_bomb",
    "garbage_gzip",
)
_M = TypeVar("_M", bound="ArmModel")


def sample_dir() -> Path:
    """The bundled sample pages: ``data/sample`` of the source tree (or the package's copy)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "data" / "sample", package.parent / "data" / "sample"):
        if candidate.is_dir():
            return candidate
    raise PagesError(
        "the bundled sample (data/sample) is missing; run from a clone of the repository "
        "or pass a folder of pages",
        path="data/sample",
    )


def load_pages(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(registries, subscriptions) of a folder of pages; ``_subscriptions.json`` is read apart."""
    from ..pages import read_pages

    subs_file = path / "_subscriptions.json" if path.is_dir() else None
    subscriptions: list[dict[str, Any]] = []
    if subs_file is not None and subs_file.is_file():
        body = json.loads(subs_file.read_text(encoding="utf-8-sig"))
        subscriptions = list(body.get("value", []) if isinstance(body, dict) else body)
    registries = [
        reg
        for page in read_pages(path)
        for reg in page.registries
        if isinstance(reg, dict) and "/registries/" in str(reg.get("id", "")).lower()
    ]
    return registries, subscriptions


@dataclass
class Fault:
    """One injected misbehaviour, for requests whose path contains ``match`` (any case).

    Kinds: ``throttle`` (429, ``Retry-After: retry_after`` unless None), ``error`` (``status``,
    default 503), ``forbidden`` (403 AuthorizationFailed), ``drop`` (close the connection
    without answering), ``malformed`` (200 with a broken JSON body), ``not_a_list`` (200 with
    a ``value`` that is an object), ``latency`` (``delay``
    seconds), and page shapes: ``empty_page`` (the first page is empty but has a ``nextLink``),
    ``repeat_next_link`` (a page links to itself), ``foreign_next_link`` (a page links to
    the same path and query on the host ``url``), ``next_link`` (a page's ``nextLink`` is
    ``url``, verbatim), ``endless_next_link`` (every page links to a new page, forever). Hostile
    bodies: ``huge`` (a valid page padded to ``size`` bytes), ``gzip_bomb`` (such a page,
    gzip-compressed to a few KiB), ``garbage_gzip`` (``Content-Encoding: gzip`` on bytes that
    are not gzip), ``drip`` (the normal answer, sent one byte every ``delay`` seconds),
    ``drip_headers`` (the same for the status line and headers, then the body at once),
    ``endless_continue`` (``100 Continue`` interim answers every ``delay`` seconds, forever).
    ``times`` limits the fault to the first N matching requests (None: always).

    Example::

        >>> Fault("throttle", match="/subscriptions/s1/", times=2, retry_after="0")
        Fault(kind='throttle', match='/subscriptions/s1/', times=2, ...)
    """

    kind: str
    match: str | None = None
    times: int | None = None
    retry_after: str | None = None
    status: int = 503
    url: str | None = None
    delay: float = 0.0
    size: int = 0
    used: int = field(default=0, repr=False)

    def __repr__(self) -> str:
        return f"Fault(kind={self.kind!r}, match={self.match!r}, times={self.times!r}, ...)"

    def applies(self, path: str) -> bool:
        """True when ``path`` matches; counts one use (callers hold the model's lock)."""
        if self.match is not None and self.match.lower() not in path.lower():
            return False
        if self.times is not None and self.used >= self.times:
            return False
        self.used += 1
        return True


class Answer(NamedTuple):
    """One response: status, JSON payload bytes and extra headers; ``status`` 0 = hang up.

    ``drip`` > 0 sends the payload one byte at a time, that many seconds apart;
    ``drip_headers`` > 0 does so for the status line and headers; ``continues`` > 0 sends
    ``100 Continue`` interim answers that far apart, never the answer.
    """

    status: int
    payload: bytes = b""
    headers: dict[str, str] | None = None
    drip: float = 0.0
    drip_headers: float = 0.0
    continues: float = 0.0


def encode(body: Any) -> bytes:
    """A JSON body as bytes: orjson (the emulator stands in for a server whose CPU is not
    the client's, so it should cost the client's machine little), the standard library for
    what orjson refuses (lone surrogates, integers beyond 64 bits) in hostile fixtures."""
    try:
        return orjson.dumps(body)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(body).encode()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    body = {"error": {"code": code, "message": message}}
    return Answer(status, encode(body), headers)


def _link(base: str, query: dict[str, str], skip: int) -> str:
    params = {k: v for k, v in query.items() if k != "$skipToken"}
    params["$skipToken"] = str(skip)
    return f"{base}?{urlencode(params, safe='$')}"


def _subscription(sub: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}",
        "subscriptionId": sub,
        "displayName": f"Subscription {sub[:8]}",
        "state": "Enabled",
    }


class ArmModel:
    """Registries, subscriptions and faults, and the ARM answer to each request (thread-safe).

    Args:
        registries: registry dicts to serve; default: the bundled sample.
        subscriptions: ``Subscriptions - List`` entries (states such as Disabled are kept);
            default: from ``_subscriptions.json`` next to the pages, plus one Enabled entry per
            subscription that holds registries.
        page_size: registries per page.
        pages_per_scope: cut every scope into exactly this many pages instead (benchmarks).
        token: the bearer token(s) accepted; None accepts any non-empty token.
        latency: seconds added to every request.
        faults: :class:`Fault` s to inject (more with :meth:`add_fault`).
        resources: ARM GET bodies served at their ids (the storage accounts and container
            registries behind the registries); default: those of
            :func:`mlreg_frames.synth.backing.backing_accounts`, with the drift it writes, less
            :func:`~mlreg_frames.synth.backing.missing_accounts` (404). ``[]`` serves none.
        forbidden_groups: resource groups (``/subscriptions/<s>/resourcegroups/<g>``) whose
            resources answer 403; default: :func:`~mlreg_frames.synth.backing.unreadable_groups`
            when ``resources`` is the default, else none.
        assets: options of the registries' asset lists
            (:class:`~mlreg_frames.emulator.assetsim.AssetModel`: ``assets``, ``page_size``,
            ``forbidden``, ``seed``, ``containers``); by default generated contents.
        read_bucket: ARM's per-subscription read limit
            (:class:`~mlreg_frames.emulator.assetsim.ReadBucket`, or ``(size, refill)``);
            None (the default) does not throttle nor send the remaining-reads header.
    """

    def __init__(
        self,
        registries: Iterable[dict[str, Any]] | None = None,
        *,
        subscriptions: Iterable[dict[str, Any]] | None = None,
        page_size: int = 10,
        pages_per_scope: int | None = None,
        token: str | Collection[str] | None = None,
        latency: float = 0.0,
        faults: Iterable[Fault] = (),
        resources: Iterable[dict[str, Any]] | None = None,
        forbidden_groups: Collection[str] | None = None,
        assets: dict[str, Any] | None = None,
        read_bucket: ReadBucket | tuple[float, float] | None = None,
    ):
        if registries is None:
            registries, listed_subs = load_pages(sample_dir())
            subscriptions = subscriptions or listed_subs
            assets = _with_saved_assets(sample_dir(), assets)
        self.registries = [r for r in registries if _ID.match(str(r.get("id", "")))]
        self.page_size = max(1, page_size)
        self.pages_per_scope = pages_per_scope
        self.token = token
        self.latency = latency
        self.faults = list(faults)
        self._lock = threading.Lock()
        self._by_sub: dict[str, list[dict[str, Any]]] = {}
        self._by_group: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for reg in self.registries:
            sub, group = (p.lower() for p in _ID.match(reg["id"]).groups())  # type: ignore[union-attr]
            self._by_sub.setdefault(sub, []).append(reg)
            self._by_group.setdefault((sub, group), []).append(reg)
        self.subscriptions = list(subscriptions or [])
        listed = {str(s.get("subscriptionId", "")).lower() for s in self.subscriptions}
        self.subscriptions += [_subscription(s) for s in self._by_sub if s not in listed]
        self._known = listed | set(self._by_sub)
        if resources is None:
            from ..synth.backing import backing_accounts, missing_accounts, unreadable_groups

            missing = missing_accounts(self.registries)
            resources = [b for b in backing_accounts(self.registries)
                         if b["id"].lower() not in missing]  # fmt: skip
            if forbidden_groups is None:
                forbidden_groups = unreadable_groups(self.registries)
        self.resources = {str(b["id"]).rstrip("/").lower(): b for b in resources if "id" in b}
        self.forbidden_groups = {g.rstrip("/").lower() for g in forbidden_groups or ()}
        self.assets = AssetModel([r["id"] for r in self.registries], **(assets or {}))
        if isinstance(read_bucket, tuple):
            read_bucket = ReadBucket(*read_bucket)
        self.read_bucket = read_bucket

    @classmethod
    def from_pages(cls: type[_M], path: str | Path, **options: Any) -> _M:
        """Serve the registries of a folder (or file, or glob) of pages."""
        registries, subscriptions = load_pages(Path(path))
        options.setdefault("subscriptions", subscriptions)
        options["assets"] = _with_saved_assets(Path(path), options.get("assets"))
        return cls(registries, **options)

    @classmethod
    def from_fleet(
        cls: type[_M], n_registries: int, n_subscriptions: int = 3, *, seed: int = 0, **options: Any
    ) -> _M:
        """Serve a generated fleet (:func:`mlreg_frames.synth.generate_fleet`)."""
        from ..synth import generate_fleet, subscriptions

        fleet = generate_fleet(n_registries, n_subscriptions, seed=seed)
        options.setdefault("subscriptions", subscriptions(fleet))
        return cls(fleet, **options)

    def add_fault(self, fault: Fault) -> Fault:
        """Inject ``fault`` from now on; returns it (its ``used`` counts matching requests)."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def _fault(self, kinds: tuple[str, ...], path: str) -> Fault | None:
        with self._lock:
            return next((f for f in self.faults if f.kind in kinds and f.applies(path)), None)

    def answer(self, target: str, authorization: str | None, base: str) -> Answer:
        """The answer to ``GET target`` (path and query) on a server reachable at ``base``."""
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query))
        slow = self._fault(("latency",), path)
        delay = self.latency + (slow.delay if slow is not None else 0.0)
        if delay:
            time.sleep(delay)
        if self._fault(("drop",), path):
            return Answer(0)
        if not any(k.lower() == "api-version" for k in query):
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        auth = authorization or ""
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        accepted = [self.token] if isinstance(self.token, str) else self.token
        if not bearer or (accepted is not None and bearer not in accepted):
            code = "InvalidAuthenticationToken" if bearer else "AuthenticationFailed"
            return _error(401, code, "Authentication failed: bearer token missing or not accepted.")
        reads = self._read(path)
        if isinstance(reads, Answer):
            return reads
        fault = self._fault(_STATUS_FAULTS, path)
        if fault is not None:
            return _fault_answer(fault, path)
        answer = self._list(path, query, base, target)
        if reads is not None:
            answer = answer._replace(headers={**(answer.headers or {}), READS_HEADER: reads})
        drip = self._fault(("drip", "drip_headers", "endless_continue"), path)
        if drip is None:
            return answer
        delay = max(drip.delay, 0.001)
        if drip.kind == "drip":
            return answer._replace(drip=delay)
        if drip.kind == "endless_continue":
            return answer._replace(continues=delay)
        return answer._replace(drip_headers=delay)

    def _read(self, path: str) -> Answer | str | None:
        """Spend a read of the path's subscription: a 429 when its bucket is empty, else
        the remaining-reads header value (None without a bucket or a subscription)."""
        sub = ReadBucket.subscription_of(path)
        if self.read_bucket is None or sub is None:
            return None
        allowed, left, wait = self.read_bucket.take(sub)
        if not allowed:
            headers = {"Retry-After": str(wait), READS_HEADER: "0"}
            return _error(429, "TooManyRequests", "Subscription read limit reached.", headers)
        return str(left)

    def _items(self, kind: str, match: re.Match[str]) -> list[dict[str, Any]] | Answer:
        if kind == "subscriptions":
            return self.subscriptions
        sub = match.group(1).lower()
        if sub not in self._known:
            message = f"The subscription '{match.group(1)}' could not be found."
            return _error(404, "SubscriptionNotFound", message)
        if kind == "subscription":
            return self._by_sub.get(sub, [])
        items = self._by_group.get((sub, match.group(2).lower()), [])
        if not items:
            message = f"Resource group '{match.group(2)}' could not be found."
            return _error(404, "ResourceGroupNotFound", message)
        return items

    def _list(self, path: str, query: dict[str, str], base: str, target: str) -> Answer:
        asset = ASSET_ROUTE.match(path)
        if asset is not None:
            status, listed = self.assets.answer(asset, query, base, path)
            if status == 200 and self._fault(("repeat_next_link",), path):
                listed["nextLink"] = base + target
            elif status == 200 and (foreign := self._fault(("foreign_next_link",), path)):
                listed["nextLink"] = str(foreign.url).rstrip("/") + path
            return Answer(status, encode(listed))
        route = next(((k, m) for k, r in _ROUTES if (m := r.match(path))), None)
        if route is None:
            return self._resource(path)
        kind, match = route
        items = self._items(kind, match)
        if isinstance(items, Answer):
            return items
        fixed = self.pages_per_scope if kind != "subscriptions" else None
        size = max(1, -(-len(items) // fixed)) if fixed else self.page_size
        skip_text = query.get("$skipToken")
        skip = int(skip_text) if skip_text and skip_text.isdigit() else 0
        body: dict[str, Any] = {"value": items[skip : skip + size]}
        nxt = skip + size
        more = nxt < (size * fixed if fixed else len(items))
        if skip_text is None and self._fault(("empty_page",), path):
            body = {"value": [], "nextLink": _link(base + path, query, 0)}
        elif self._fault(("repeat_next_link",), path):
            body["nextLink"] = base + target
        elif self._fault(("endless_next_link",), path):
            body["nextLink"] = _link(base + path, query, nxt)  # a new link every time
        elif (foreign := self._fault(("foreign_next_link",), path)) is not None:
            body["nextLink"] = _link(str(foreign.url).rstrip("/") + path, query, nxt)
        elif (verbatim := self._fault(("next_link",), path)) is not None:
            body["nextLink"] = verbatim.url
        elif more:
            body["nextLink"] = _link(base + path, query, nxt)
        return Answer(200, encode(body))

    def _resource(self, path: str) -> Answer:
        """``GET`` of one resource by id: its body, 403 in a forbidden group, else 404."""
        rid = path.rstrip("/").lower()
        group = "/".join(rid.split("/")[:5])
        if _ID.match(path) and group in self.forbidden_groups:
            return _error(
                403,
                "AuthorizationFailed",
                f"The client does not have authorization to perform action 'read' over scope "
                f"'{path}' or the scope is invalid.",
            )
        body = self.resources.get(rid)
        if body is not None:
            return Answer(200, encode(body))
        if _ID.match(path) and "/providers/" in rid:
            return _error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
        return _error(404, "InvalidResourceType", f"No route for '{path}'.")


def _with_saved_assets(folder: Path, assets: dict[str, Any] | None) -> dict[str, Any] | None:
    """``assets`` options serving a folder's ``_assets.ndjson`` (the sample's), if it has one."""
    saved = folder / "_assets.ndjson"
    if not folder.is_dir() or not saved.is_file() or (assets or {}).get("assets") is not None:
        return assets
    return {**(assets or {}), "assets": load_asset_pages(saved)}


def _padded(size: int) -> bytes:
    """A valid, empty list page of (about) ``size`` bytes."""
    head, tail = b'{"value": [], "padding": "', b'"}'
    return head + b"0" * max(0, size - len(head) - len(tail)) + tail


def _fault_answer(fault: Fault, path: str) -> Answer:
    if fault.kind == "throttle":
        headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
        return _error(429, "TooManyRequests", "The request is being throttled.", headers)
    if fault.kind == "forbidden":
        return _error(
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action "
            f"'Microsoft.MachineLearningServices/registries/read' over scope '{path}'.",
        )
    if fault.kind == "malformed":
        return Answer(200, b'{"value": [{"id": "/subscriptions/')
    if fault.kind == "not_a_list":
        return Answer(200, b'{"value": {"id": "not a list"}}')
    if fault.kind == "huge":
        return Answer(200, _padded(fault.size))
    if fault.kind == "gzip_bomb":
        return Answer(200, gzip.compress(_padded(fault.size), 9), {"Content-Encoding": "gzip"})
    if fault.kind == "garbage_gzip":
        return Answer(200, b"this is not gzip at all" * 4, {"Content-Encoding": "gzip"})
    return _error(fault.status, "InternalServerError", "Injected server error.")
