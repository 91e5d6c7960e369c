"""Reading and writing raw ARM list pages, with their provenance.

A *page* is one ARM list response: ``{"value": [registry, ...], "nextLink": "..."}``. Files
may hold a page object, a bare JSON array of registries, NDJSON (one page or one registry
per line), or an Azure REST spec example (``{"parameters": ..., "responses": {"200":
{"body": ...}}}``). :func:`write_page` adds an ``_mlreg`` object with where and when the
page was read (URL, time, api version; never a token), and :func:`read_pages` gives it back
on :class:`Page`, so an archive of raw pages rebuilds the same tables offline.

Example::

    >>> import mlreg_frames as mf
    >>> pages = mf.read_pages("data/sample")          # doctest: +SKIP
    >>> pages[0].source, len(pages[0].registries)     # doctest: +SKIP
    ('registries-....json', 20)
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ._files import atomic_file
from ._gc import paused_gc
from .errors import PagesError

__all__ = [
    "PAGE_SUFFIXES",
    "PROVENANCE_KEY",
    "SUBSCRIPTIONS_FILE",
    "Page",
    "SubscriptionsPage",
    "iter_pages",
    "read_pages",
    "write_page",
    "write_subscriptions",
]

SUBSCRIPTIONS_FILE = "_subscriptions.json"
"""The ``Subscriptions - List`` body saved beside a folder of pages (``fetch --raw`` writes it,
with the fetch's outcome per subscription in its ``_mlreg`` block)."""

PROVENANCE_KEY = "_mlreg"
"""Key of the provenance object that :func:`write_page` adds to a page."""

PAGE_SUFFIXES = (".json", ".ndjson", ".jsonl")
"""File endings a folder is searched for (recursively). Names starting with ``_`` or ``.``
are skipped there, as Spark and Hive do: they hold metadata (``_subscriptions.json``) or
files still being written."""


class Page:
    """One ARM list page and where it came from.

    A page read from a ``.json`` file is parsed when its body is first used, so
    ``read_pages`` over thousands of files is instant and :func:`~mlreg_frames.flatten`
    can parse them in parallel worker processes.

    Attributes:
        body: the page object (``{"value": [...], "nextLink": ...}``); a bare array of
            registries is wrapped as ``{"value": [...]}``.
        source: a human-readable origin for error messages (file name, ``file:line``, URL).
        url: the URL it was fetched from, if known.
        fetched_at: ISO timestamp of the fetch, if known.
        api_version: the ARM api-version it was fetched with, if known.
        path: the file a lazily read page comes from (``None`` for pages built in memory).

    Example::

        >>> page = Page({"value": [], "nextLink": None}, "in memory")
        >>> page.registries, page.next_link
        ([], None)
    """

    __slots__ = ("_api_version", "_body", "_fetched_at", "_url", "path", "source")

    def __init__(
        self,
        body: dict[str, Any] | None,
        source: str,
        url: str | None = None,
        fetched_at: str | None = None,
        api_version: str | None = None,
        *,
        path: Path | None = None,
    ):
        if body is None and path is None:
            raise PagesError("a Page needs a body or a file to read it from", path=source)
        self._body = body
        self.source = source
        self._url = url
        self._fetched_at = fetched_at
        self._api_version = api_version
        self.path = path

    @classmethod
    def from_file(cls, path: Path) -> Page:
        """A page whose JSON file is parsed on first use."""
        return cls(None, path.name, path=path)

    @property
    def loaded(self) -> bool:
        """Whether the body is in memory (False for a file page not yet parsed)."""
        return self._body is not None

    def parsed(self) -> Page:
        """This page with its body in memory: itself if loaded, else a parsed copy.

        The copy leaves this page unparsed, so a caller walking many lazy pages holds one
        parsed body at a time.
        """
        if self._body is not None:
            return self
        assert self.path is not None
        got = _page_from_json(_parse_json_file(self.path), self.source)
        if isinstance(got, Page):
            return Page(got.body, self.source, got.url, got.fetched_at, got.api_version,
                        path=self.path)  # fmt: skip
        return Page({"value": got}, self.source, path=self.path)

    def _load(self) -> dict[str, Any]:
        if self._body is None:
            copy = self.parsed()
            self._body = copy.body
            self._url, self._fetched_at = copy.url, copy.fetched_at
            self._api_version = copy.api_version
        return self._body

    @property
    def body(self) -> dict[str, Any]:
        return self._load()

    @property
    def url(self) -> str | None:
        self._load()
        return self._url

    @property
    def fetched_at(self) -> str | None:
        self._load()
        return self._fetched_at

    @property
    def api_version(self) -> str | None:
        self._load()
        return self._api_version

    @property
    def registries(self) -> list[Any]:
        """The page's ``value`` list (``Value`` too, both if both); empty when missing or null."""
        body = self.body
        if isinstance(body.get("value"), list) and "Value" not in body:
            return body["value"]
        found: list[Any] = []
        for key, value in body.items():
            if isinstance(key, str) and key.lower() == "value" and isinstance(value, list):
                found.extend(value)
        return found

    @property
    def next_link(self) -> str | None:
        value = self.body.get("nextLink", self.body.get("NextLink"))
        return value if isinstance(value, str) and value else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Page):
            return NotImplemented
        return (self.body, self.source, self.url, self.fetched_at, self.api_version) == (
            other.body, other.source, other.url, other.fetched_at, other.api_version
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        state = f"{len(self.registries)} registries" if self.loaded else "not parsed yet"
        return f"Page(source={self.source!r}, {state})"


class SubscriptionsPage(Page):
    """A saved ``Subscriptions - List`` body (``_subscriptions.json``): not registries.

    :func:`read_pages` adds one for a folder holding ``_subscriptions.json`` (or a file of
    that name given directly); :func:`~mlreg_frames.flatten` turns it into the
    ``subscriptions`` table instead of walking it for registries.

    Attributes:
        entries: the ``value`` entries, as listed.
        outcomes: subscription id -> the fetch's outcome, when a fetch wrote the file
            (``_mlreg.outcomes``); None for a plain saved list.
    """

    __slots__ = ("outcomes",)

    def __init__(
        self,
        body: dict[str, Any],
        source: str,
        outcomes: dict[str, str | None] | None = None,
        **kwargs: Any,
    ):
        super().__init__(body, source, **kwargs)
        self.outcomes = outcomes

    @classmethod
    def from_file(cls, path: Path) -> SubscriptionsPage:
        """Read and check a saved ``Subscriptions - List`` body now (it is small)."""
        obj = _parse_json_file(path)
        value = obj.get("value") if isinstance(obj, dict) else None
        if not isinstance(value, list):
            raise PagesError(
                f"{path.name} is not a Subscriptions - List body ({{'value': [...]}}); fix it, "
                f"or rename it so it does not start with '_' to read it as registries",
                path=path.name,
            )
        prov = _provenance(obj.get(PROVENANCE_KEY), path.name)
        outcomes = prov.get("outcomes")
        if outcomes is not None and not (
            isinstance(outcomes, dict)
            and all(
                isinstance(k, str) and (v is None or isinstance(v, str))
                for k, v in outcomes.items()
            )
        ):
            raise PagesError(
                f"{path.name}: `{PROVENANCE_KEY}.outcomes` must map subscription ids to "
                "outcome strings; remove it or fetch again with --raw",
                path=path.name,
            )
        body = {k: v for k, v in obj.items() if k != PROVENANCE_KEY}
        return cls(
            body,
            path.name,
            outcomes,
            url=prov.get("url"),
            fetched_at=prov.get("fetched_at"),
            path=path,
        )

    @property
    def entries(self) -> list[Any]:
        """The listed subscription entries."""
        value: list[Any] = self.body["value"]
        return value

    @property
    def registries(self) -> list[Any]:
        return []


def write_subscriptions(
    entries: list[Any],
    outcomes: dict[str, str | None],
    path: str | os.PathLike[str],
    *,
    url: str | None = None,
    fetched_at: str | None = None,
) -> Path:
    """Write a ``Subscriptions - List`` body with the fetch's outcomes, atomically.

    ``flatten(read_pages(folder))`` then rebuilds the fetch's ``subscriptions`` table.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prov = {"source": "Subscriptions - List", "url": url, "fetched_at": fetched_at,
            "api_version": None, "outcomes": dict(sorted(outcomes.items()))}  # fmt: skip
    # ASCII: a lone surrogate in a display name stays a JSON escape, readable back exactly
    text = json.dumps({"value": entries, PROVENANCE_KEY: prov}, ensure_ascii=True, indent=1)
    with atomic_file(target) as (fh, tmp):
        fh.write((text + "\n").encode("ascii"))
    os.replace(tmp, target)
    return target


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


def _page_from_json(obj: Any, source: str) -> Page | list[Any]:
    """A page for page-shaped JSON; a list of registries for a bare array or a registry."""
    if isinstance(obj, list):
        return Page({"value": obj}, source)
    if not isinstance(obj, dict):
        raise PagesError(
            f"{source} holds a JSON {_json_type(obj)}, not a page object or an array of "
            "registries; pass ARM list responses ({'value': [...]})",
            path=source,
        )
    if "responses" in obj and "parameters" in obj:  # an Azure REST spec example file
        responses = obj["responses"]
        if not isinstance(responses, dict):
            raise PagesError(
                f"{source} looks like an Azure REST spec example, but its `responses` is a "
                f"JSON {_json_type(responses)}, not an object keyed by status code; fix "
                "or remove the file",
                path=source,
            )
        ok = next((r for code, r in responses.items() if str(code) == "200"), None)
        body = ok.get("body") if isinstance(ok, dict) else None
        if body is None:
            return []
        return _page_from_json(body, f"{source} (example 200 body)")
    if any(isinstance(k, str) and k.lower() == "value" for k in obj):
        body = {k: v for k, v in obj.items() if k != PROVENANCE_KEY}
        prov = _provenance(obj.get(PROVENANCE_KEY), source)
        return Page(
            body,
            source,
            url=prov.get("url"),
            fetched_at=prov.get("fetched_at"),
            api_version=prov.get("api_version"),
        )
    return [obj]  # a single registry (a Get response, or one NDJSON line)


def _provenance(block: Any, source: str) -> dict[str, str | None]:
    """The ``_mlreg`` block of a page, checked: an object of strings (or nulls), or absent."""
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise PagesError(
            f"{source}: the `{PROVENANCE_KEY}` provenance block is a JSON "
            f"{_json_type(block)}, not an object; remove it or rewrite the page with "
            "write_page",
            path=source,
        )
    for key in ("source", "url", "fetched_at", "api_version"):
        value = block.get(key)
        if value is not None and not isinstance(value, str):
            raise PagesError(
                f"{source}: `{PROVENANCE_KEY}.{key}` must be a string or null, got "
                f"{type(value).__name__}; remove it or rewrite the page with write_page",
                path=source,
            )
    return block


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PagesError(f"cannot read {path}: {exc}", path=str(path)) from exc
    return raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PagesError(
            f"{path} is not UTF-8 text ({exc}); re-save it as UTF-8", path=str(path)
        ) from exc


def _too_deep(where: str, path: Path, line: int | None = None) -> PagesError:
    return PagesError(
        f"{where} nests objects or lists too deeply to parse; an ARM page nests about 8 "
        "levels: fix or remove the file",
        path=str(path),
        line=line,
    )


# orjson reads an integer beyond 64 bits as a float, losing its digits; the stdlib parser
# keeps it exact (flatten then keeps it in `extra`). 19 digits reach past the int64 range.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
_LONG_NUMBER_TEXT = re.compile(r"[0-9]{19}")


def _parse_json_file(path: Path) -> Any:
    """A JSON file's value; orjson for speed, the stdlib parser to explain an error.

    The stdlib parser also reads what orjson refuses but JSON allows (a lone surrogate
    escape such as ``"\\ud800"``).
    """
    raw = _read_bytes(path)
    try:
        if _LONG_NUMBER.search(raw) is None:
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                _raise_if_too_deep(exc)
        return json.loads(_decode(raw, path))
    except RecursionError:
        raise _too_deep(str(path), path) from None
    except json.JSONDecodeError as exc:
        raise PagesError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "fix or remove the file",
            path=str(path),
            line=exc.lineno,
        ) from exc


def _loads_line(line: str) -> Any:
    """One NDJSON line: orjson for speed, the stdlib parser for what orjson refuses or rounds.

    The stdlib parser also says where and why a line is not JSON (``json.JSONDecodeError``).
    """
    if _LONG_NUMBER_TEXT.search(line) is None:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            _raise_if_too_deep(exc)
    return json.loads(line)


def _raise_if_too_deep(exc: orjson.JSONDecodeError) -> None:
    """orjson's depth limit (1,024) as a ``RecursionError``, which callers report as too deep.

    Without this the stdlib parser would take over, and whether it refuses the same text
    depends on the Python version (3.13 parses far deeper than 3.11): one rule for all.
    """
    message = str(exc).lower()
    if "depth" in message or "recursion" in message:
        raise RecursionError(str(exc)) from None


def _read_ndjson(path: Path) -> Iterator[Page]:
    source = path.name
    loose: list[Any] = []
    text = _decode(_read_bytes(path), path)
    # Lines end at "\n" only (NDJSON): str.splitlines would also split inside a valid line
    # at U+2028 or U+0085, which JSON strings may hold unescaped.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = _loads_line(line)
        except RecursionError:
            raise _too_deep(f"{path}:{number}", path, number) from None
        except json.JSONDecodeError as exc:
            raise PagesError(
                f"{path}:{number} is not valid JSON ({exc.msg} at column {exc.colno}); "
                "each NDJSON line must be one page or one registry object",
                path=str(path),
                line=number,
            ) from None
        got = _page_from_json(obj, f"{source}:{number}")
        if isinstance(got, Page):
            yield got
        else:
            loose.extend(got)
    if loose:
        yield Page({"value": loose}, source)


def _read_file(path: Path, *, lazy: bool) -> Iterator[Page]:
    if path.name == SUBSCRIPTIONS_FILE:
        yield SubscriptionsPage.from_file(path)
        return
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        yield from _read_ndjson(path)
        return
    page = Page.from_file(path)
    if not lazy:
        page.body  # noqa: B018 - parse now, so errors surface here
    yield page


def _expand(source: str | os.PathLike[str]) -> list[Path]:
    if not isinstance(source, (str, os.PathLike)):
        raise PagesError(
            f"a page source must be a path, a glob or a list of them, got {type(source).__name__}",
            path=repr(source),
        )
    text = os.fspath(source)
    if not isinstance(text, str) or not text.strip():
        # Path("") is the working directory: never read it by accident.
        raise PagesError(
            f"a page source must be a path, a glob or a list of them, got {text!r}; "
            'name the folder explicitly ("." for the working directory)',
            path=repr(text),
        )
    path = Path(text)
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in PAGE_SUFFIXES
            and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
        )
    if path.is_file():
        return [path]
    if glob.has_magic(text):
        return sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    raise PagesError(
        f"{text} is neither a file, a folder nor a glob that matches files; check the path",
        path=text,
    )


def iter_pages(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    lazy: bool = True,
) -> Iterator[Page]:
    """Yield the pages of files, folders (searched recursively, sorted) and globs.

    With ``lazy`` (the default) a ``.json`` file is parsed when its page is first used.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    elif not isinstance(sources, Iterable) or isinstance(sources, (bytes, bytearray, dict)):
        raise PagesError(
            f"read_pages takes a path, a glob or a list of them, got {type(sources).__name__}",
            path=repr(sources),
        )
    for source in sources:
        files = _expand(source)
        saved = Path(os.fspath(source)) / SUBSCRIPTIONS_FILE
        if not files and not saved.is_file():
            raise PagesError(
                f"{os.fspath(source)} holds no page files ({', '.join(PAGE_SUFFIXES)})",
                path=os.fspath(source),
            )
        for file in files:
            yield from _read_file(file, lazy=lazy)
        if saved.is_file():
            yield SubscriptionsPage.from_file(saved)


def read_pages(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    lazy: bool = True,
) -> list[Page]:
    """Read ARM list pages from a file, a folder, a glob, or a list of them.

    Accepts page objects, bare JSON arrays of registries, NDJSON (``.ndjson``/``.jsonl``:
    one page or one registry per line) and Azure REST spec example files. In a folder,
    files and subfolders whose names start with ``_`` or ``.`` are skipped, except a
    folder's own ``_subscriptions.json`` (the Subscriptions - List body), which is read as a
    :class:`SubscriptionsPage` last: ``flatten`` makes the ``subscriptions`` table of it.

    Args:
        sources: a path, a glob, or a list of them.
        lazy: parse each ``.json`` file when its page is first used (the default: listing
            is instant, and :func:`~mlreg_frames.flatten` parses large sets in parallel);
            ``False`` parses everything now, so a broken file fails here.

    Raises:
        PagesError: a path matches nothing, or a file is not valid JSON (naming file and
            line; with ``lazy``, when the page is first used).

    Example::

        >>> pages = read_pages("data/sample")            # doctest: +SKIP
        >>> pages = read_pages(["a.json", "more/*.ndjson"])  # doctest: +SKIP
    """
    with paused_gc():
        return list(iter_pages(sources, lazy=lazy))


def write_page(page: Page, path: str | os.PathLike[str]) -> Path:
    """Write a page with its provenance as JSON, atomically (temp file, then rename).

    The ``_mlreg`` object records ``source``, ``url``, ``fetched_at`` and ``api_version``:
    nothing else, and never a credential.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = dict(page.body)
    body[PROVENANCE_KEY] = {
        "source": page.source,
        "url": page.url,
        "fetched_at": page.fetched_at,
        "api_version": page.api_version,
    }
    text = json.dumps(body, ensure_ascii=False, indent=1) + "\n"
    with atomic_file(target) as (fh, tmp):  # the umask's mode, not mkstemp's 0600
        fh.write(text.encode("utf-8"))
    os.replace(tmp, target)
    return target
