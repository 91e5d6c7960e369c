"""What Azure Resource Graph answers to the registries query, with faults: no sockets.

:class:`GraphModel` serves ``POST /providers/Microsoft.ResourceGraph/resources`` from the
registries of an :class:`~mlreg_frames.emulator.armsim.ArmModel` (the sample or a generated
fleet), the way ARG does (see ``docs/fetch.md``):

* rows in ARG's shape: no ``systemData``, ``type`` lower-cased, ``kind`` ``""`` when absent,
  plus ``tenantId``, ``resourceGroup`` (lower-cased), ``subscriptionId``, ``managedBy``,
  ``plan``, ``zones``, ``extendedLocation``; sorted by id;
* scopes: ``subscriptions`` (at most 1,000), ``managementGroups`` (mapped to subscriptions;
  the tenant id names the root group holding every subscription), or neither (the tenant);
  a tenant or group scope with more than ``scope_limit`` subscriptions fails unless
  ``options.allowPartialScopes``, which answers for the first ``scope_limit`` and says so with
  ``x-ms-tenant-subscription-limit-hit: true``, as ARG does;
* paging: ``$top`` (1..1000, capped by ``page_size``), ``$skip`` (rows to skip first; a
  ``$skipToken`` overrides it) and an opaque ``$skipToken`` that is only valid with the same
  query and scopes;
* ``resourcechanges`` queries: the change records of
  :class:`~mlreg_frames.emulator.changesim.ChangeModel`, paged the same way;
* ``resultFormat``: ``objectArray`` (the default: ``data`` is a list of row objects) or
  ``table`` (``data`` is ``{"columns": [{"name", "type"}], "rows": [[...]]}``);
* throttling: ``x-ms-user-quota-remaining`` / ``-resets-after`` on every answer from a
  fixed window of ``quota`` requests per ``window`` seconds, and 429 beyond it;
* faults (:class:`~mlreg_frames.emulator.armsim.Fault`, matched on the path):
  ``latency``, ``drop``, ``throttle`` (429 with quota headers; ``retry_after`` is the
  ``hh:mm:ss`` reset), ``error``, ``forbidden``, ``malformed``, and ``truncate``
  (``resultTruncated: "true"``, half the page, no ``$skipToken``) and
  ``repeat_skip_token`` (the token received is sent back), ``endless_skip_token`` (no rows
  and a new ``$skipToken`` every time, forever), ``missing_rows`` (the first page, with
  ``totalRecords`` of every page, and no ``$skipToken``: rows silently missing) and
  ``resets_after`` (a normal answer whose ``x-ms-user-quota-resets-after`` is ``retry_after``).

Example::

    >>> from mlreg_frames.emulator.armsim import ArmModel
    >>> model = ArmModel([{"id": "/subscriptions/s/resourceGroups/G/providers/"
    ...                    "Microsoft.MachineLearningServices/registries/r"}])
    >>> answer = GraphModel(model).answer(GRAPH_TARGET, "Bearer t", b'{"query": "resources '
    ...     b'| where type =~ \\'microsoft.machinelearningservices/registries\\'"}')
    >>> answer.status, json.loads(answer.payload)["data"][0]["resourceGroup"]
    (200, 'g')
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .armsim import Answer, Fault
from .changesim import ChangeModel
from .graphrows import SUBSCRIPTIONS_TYPE, container_row, table_format

if TYPE_CHECKING:
    from .armsim import ArmModel

__all__ = ["DEFAULT_TENANT", "GRAPH_TARGET", "LIMIT_HIT", "GraphModel", "graph_row"]

LIMIT_HIT = "x-ms-tenant-subscription-limit-hit"
"""The header of an answer for part of its scope (``allowPartialScopes`` over the limit)."""

GRAPH_TARGET = "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
"""The path and query of a Resource Graph query, as clients send it."""

DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000e0a1"
"""The tenant id of emulated rows when the registries name none."""

_PATH = re.compile(r"^/providers/microsoft\.resourcegraph/resources/?$", re.I)
_TYPE = "microsoft.machinelearningservices/registries"


_BACKING_TYPES = ("microsoft.storage/storageaccounts", "microsoft.containerregistry/registries")
_ID_LIST = re.compile(r"tolower\(id\)\s+in\s*\((.*?)\)\s*(?:\||$)", re.I | re.S)
_RG_FILTER = re.compile(r"resourceGroup\s*=~\s*'([^']*)'", re.I)
_ID = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/", re.I)
_STATUS_FAULTS = ("throttle", "error", "forbidden", "malformed")


def graph_row(registry: Mapping[str, Any], tenant_id: str) -> dict[str, Any]:
    """A registry as a row of ARG's ``resources`` table.

    Example::

        >>> row = graph_row({"id": "/subscriptions/S/resourceGroups/RG/providers/p/"
        ...                  "registries/r", "type": "Microsoft.X/registries",
        ...                  "systemData": {}}, "t")
        >>> row["type"], row["resourceGroup"], row["subscriptionId"], "systemData" in row
        ('microsoft.x/registries', 'rg', 'S', False)
    """
    sub, group = _ID.match(str(registry["id"])).groups()  # type: ignore[union-attr]
    row = {k: v for k, v in registry.items() if k != "systemData"}
    row["type"] = str(registry.get("type") or "").lower()
    for key in ("kind", "managedBy"):
        row[key] = row.get(key) or ""
    for key in ("sku", "identity", "properties", "tags", "plan", "zones", "extendedLocation"):
        row.setdefault(key, None)
    row.update(tenantId=tenant_id, subscriptionId=sub, resourceGroup=group.lower())
    return row


def _in_scope(arm_id: str, subscriptions: set[str], group: str | None) -> bool:
    """The id is in one of the subscriptions (and in the resource group, when named)."""
    match = _ID.match(arm_id)
    if match is None or match.group(1).lower() not in subscriptions:
        return False
    return group is None or match.group(2).lower() == group.lower()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    body = {"error": {"code": code, "message": message, "details": []}}
    return Answer(status, json.dumps(body).encode(), headers)


def _hms(seconds: float) -> str:
    whole = max(0, math.ceil(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class GraphModel:
    """Resource Graph over an :class:`~mlreg_frames.emulator.armsim.ArmModel`'s registries.

    Args:
        model: the ARM model whose registries, subscriptions, token, latency and faults
            are served.
        management_groups: group name -> subscription ids; the tenant id always names a
            root group holding every subscription.
        quota: requests per window before 429 (None: unlimited; the headers still count).
        window: the quota window in seconds.
        page_size: the most rows per page, whatever ``$top`` asks (ARG's own cap is 1,000).
        scope_limit: the most subscriptions a tenant or management-group query may cover.
        tenant_id: ``tenantId`` of the rows; default: the first identity's tenant.

    ``changes`` (a :class:`~mlreg_frames.emulator.changesim.ChangeModel`, made on first use)
    answers queries over ``resourcechanges``; replace it to serve a constructed history.
    """

    def __init__(
        self,
        model: ArmModel,
        *,
        management_groups: Mapping[str, list[str]] | None = None,
        quota: int | None = 15,
        window: float = 5.0,
        page_size: int = 1000,
        scope_limit: int | None = None,
        tenant_id: str | None = None,
    ):
        self.model = model
        self.management_groups = {
            k.lower(): [s.lower() for s in v] for k, v in (management_groups or {}).items()
        }
        self.quota = quota
        self.window = window
        self.page_size = max(1, min(page_size, 1000))
        self.scope_limit = scope_limit
        self.tenant_id = tenant_id or self._first_tenant()
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._used = 0
        self.queries: list[Any] = []
        """Every ``QueryRequest`` body received (after auth and quota), for tests."""
        self._changes: ChangeModel | None = None

    @property
    def changes(self) -> ChangeModel:
        """The ``resourcechanges`` records served (generated from the model on first use)."""
        with self._lock:
            if self._changes is None:
                self._changes = ChangeModel(self.model)
            return self._changes

    @changes.setter
    def changes(self, value: ChangeModel) -> None:
        self._changes = value

    def _first_tenant(self) -> str:
        for reg in self.model.registries:
            identity = reg.get("identity")
            if isinstance(identity, dict) and isinstance(identity.get("tenantId"), str):
                return str(identity["tenantId"])
        return DEFAULT_TENANT

    def _fault(self, kinds: tuple[str, ...], path: str) -> Fault | None:
        return self.model._fault(kinds, path)

    def _spend(self) -> tuple[bool, dict[str, str]]:
        """Count one request against the quota window: (allowed, quota headers)."""
        with self._lock:
            now = time.monotonic()
            if self._window_start is None or now - self._window_start >= self.window:
                self._window_start, self._used = now, 0
            left = self.window - (now - self._window_start)
            limit = self.quota if self.quota is not None else 10**6
            allowed = self._used < limit
            if allowed:
                self._used += 1
            headers = {
                "x-ms-user-quota-remaining": str(max(0, limit - self._used)),
                "x-ms-user-quota-resets-after": _hms(left),
            }
            return allowed, headers

    def answer(self, target: str, authorization: str | None, payload: bytes) -> Answer:
        """The answer to ``POST target`` with a ``QueryRequest`` body."""
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query))
        slow = self._fault(("latency",), path)
        delay = self.model.latency + (slow.delay if slow is not None else 0.0)
        if delay:
            time.sleep(delay)
        if self._fault(("drop",), path):
            return Answer(0)
        if not _PATH.match(path):
            return _error(404, "InvalidResourceType", f"No POST route for '{path}'.")
        if not any(k.lower() == "api-version" for k in query):
            return _error(400, "MissingApiVersionParameter", "The api-version is required.")
        auth = authorization or ""
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        token = self.model.token
        accepted = [token] if isinstance(token, str) else token
        if not bearer or (accepted is not None and bearer not in accepted):
            return _error(401, "AuthenticationFailed", "Bearer token missing or not accepted.")
        allowed, quota = self._spend()
        if not allowed:
            return _error(429, "RateLimiting", "Please provide below info when asking for "
                          "support: the user quota is exhausted.", quota)  # fmt: skip
        fault = self._fault(_STATUS_FAULTS, path)
        if fault is not None:
            return self._fault_answer(fault, path, quota)
        try:
            request = json.loads(payload or b"{}")
        except ValueError:
            return _error(400, "BadRequest", "The request body is not JSON.", quota)
        with self._lock:
            self.queries.append(request)
        answer = self._query(request if isinstance(request, dict) else {}, path)
        return answer._replace(headers={**quota, **(answer.headers or {})})

    def _fault_answer(self, fault: Fault, path: str, quota: dict[str, str]) -> Answer:
        if fault.kind == "throttle":
            headers = {**quota, "x-ms-user-quota-remaining": "0"}
            headers["x-ms-user-quota-resets-after"] = fault.retry_after or "00:00:01"
            return _error(429, "RateLimiting", "The user quota is exhausted.", headers)
        if fault.kind == "forbidden":
            return _error(403, "AuthorizationFailed", f"No read access over '{path}'.", quota)
        if fault.kind == "malformed":
            return Answer(200, b'{"totalRecords": 1, "data": [{"id": "/subs', quota)
        return _error(fault.status, "InternalServerError", "Injected server error.", quota)

    def _scope(self, request: dict[str, Any]) -> tuple[list[str], bool] | Answer:
        """(the subscriptions a request covers, lower-case; whether the scope was cut at
        ``scope_limit``), or the error answer."""
        options = request.get("options") or {}
        subs = request.get("subscriptions")
        groups = request.get("managementGroups")
        if subs:
            if len(subs) > 1000:
                return _error(400, "BadRequest", "At most 1000 subscriptions per request.")
            return [str(s).lower() for s in subs], False
        everyone = sorted(
            str(s.get("subscriptionId", "")).lower() for s in self.model.subscriptions
        )
        if groups:
            chosen: set[str] = set()
            for group in groups:
                name = str(group).lower()
                if name == self.tenant_id.lower():
                    chosen.update(everyone)
                elif name in self.management_groups:
                    chosen.update(self.management_groups[name])
                else:
                    return _error(
                        400,
                        "BadRequest",
                        f"Management group '{group}' was not found, or the caller cannot read it.",
                    )
            scope = sorted(chosen)
        else:
            scope = everyone
        limit = self.scope_limit
        if limit is not None and len(scope) > limit:
            if not options.get("allowPartialScopes"):
                return _error(
                    400,
                    "BadRequest",
                    f"The query covers {len(scope)} subscriptions, more than the {limit} "
                    "allowed; set options.allowPartialScopes or pass subscriptions.",
                )
            return scope[:limit], True  # ARG answers for part of the scope, and says so
        return scope, False

    def _backing_rows(self, text: str, wanted: set[str]) -> list[dict[str, Any]]:
        """The accounts named in ``tolower(id) in (...)``, in the scope's subscriptions, less
        those in resource groups the caller cannot read: ARG leaves them out without a word."""
        listed = _ID_LIST.search(text)
        ids = set(re.findall(r"'([^']*)'", listed.group(1))) if listed else set()
        rows = []
        for rid, body in self.model.resources.items():
            match = _ID.match(rid)
            if match is None or rid not in ids or match.group(1).lower() not in wanted:
                continue
            if "/".join(rid.split("/")[:5]) in self.model.forbidden_groups:
                continue
            rows.append(graph_row(body, self.tenant_id))
        return rows

    def _query(self, request: dict[str, Any], path: str) -> Answer:
        text = request.get("query")
        backing = isinstance(text, str) and any(t in text.lower() for t in _BACKING_TYPES)
        containers = isinstance(text, str) and SUBSCRIPTIONS_TYPE in text.lower()
        changes = isinstance(text, str) and text.lstrip().lower().startswith("resourcechanges")
        if not isinstance(text, str) or (
            _TYPE not in text.lower() and not backing and not containers and not changes
        ):
            return _error(
                400,
                "InvalidQuery",
                "The emulator answers the registries, backing-accounts, subscriptions and "
                "resourcechanges queries only.",
            )
        options = request.get("options") or {}
        result_format = options.get("resultFormat", "objectArray")
        if result_format not in ("objectArray", "table"):
            return _error(400, "BadRequest", "resultFormat must be objectArray or table, "
                          f"got {result_format!r}.")  # fmt: skip
        top = options.get("$top", 100)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
            return _error(400, "BadRequest", f"$top must be 1..1000, got {top!r}.")
        first = options.get("$skip", 0)
        if isinstance(first, bool) or not isinstance(first, int) or first < 0:
            return _error(400, "BadRequest", f"$skip must be a whole number >= 0, got {first!r}.")
        scoped = self._scope(request)
        if isinstance(scoped, Answer):
            return scoped
        scope, cut = scoped
        wanted = set(scope)
        if changes:
            rows = self.changes.rows(text, wanted)
        elif containers:
            rows = [container_row(sub, self.tenant_id) for sub in self.model.subscriptions
                    if str(sub.get("subscriptionId", "")).lower() in wanted]  # fmt: skip
        elif backing:
            rows = self._backing_rows(text, wanted)
        else:
            group = _RG_FILTER.search(text)
            rows = [graph_row(reg, self.tenant_id) for reg in self.model.registries
                    if _in_scope(reg["id"], wanted, group.group(1) if group else None)]  # fmt: skip
        rows.sort(key=lambda row: str(row["id"]).lower())
        fingerprint = hashlib.sha256(
            json.dumps([text, request.get("subscriptions"), request.get("managementGroups")])
            .encode()
        ).hexdigest()[:16]  # fmt: skip
        skip = first
        token = options.get("$skipToken")
        if token:
            try:
                state = json.loads(base64.b64decode(token))
                skip, valid = int(state["skip"]), state.get("q") == fingerprint
            except (ValueError, KeyError, TypeError):
                valid = False
            if not valid:
                return _error(400, "InvalidSkipToken", "The $skipToken does not match this query.")
        size = min(top, self.page_size)
        page = rows[skip : skip + size]
        body: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "facets": [],
            "data": page,
        }
        headers = {LIMIT_HIT: "true"} if cut else {}
        if (odd := self._fault(("resets_after",), path)) is not None:
            headers["x-ms-user-quota-resets-after"] = str(odd.retry_after)
        if self._fault(("endless_skip_token",), path):
            body.update(data=[], count=0)
            state = json.dumps({"q": fingerprint, "skip": skip, "n": time.monotonic_ns()})
            body["$skipToken"] = base64.b64encode(state.encode()).decode()
        elif self._fault(("truncate",), path):
            body["data"] = page[: len(page) // 2]
            body["count"] = len(body["data"])
            body["resultTruncated"] = "true"
        elif token and self._fault(("repeat_skip_token",), path):
            body["$skipToken"] = token
        elif skip + size < len(rows) and not self._fault(("missing_rows",), path):
            state = json.dumps({"q": fingerprint, "skip": skip + size}).encode()
            body["$skipToken"] = base64.b64encode(state).decode()
        if result_format == "table":
            body["data"] = table_format(body["data"])
        return Answer(200, json.dumps(body).encode(), headers)
