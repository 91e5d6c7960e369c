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
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ._gc import paused_gc
from .errors import PagesError

__all__ = ["PAGE_SUFFIXES", "PROVENANCE_KEY", "Page", "iter_pages", "read_pages", "write_page"]

PROVENANCE_KEY = "_mlreg"
"""Key of the provenance object that :func:`write_page` adds to a page."""

PAGE_SUFFIXES = (".json", ".ndjson", ".jsonl")
"""File endings a folder is searched for (recursively). Names starting with ``_`` or ``.``
are skipped there, as Spark and Hive do: they hold metadata (``_subscriptions.json``) or
files still being written."""


@dataclass
class Page:
    """One ARM list page and where it came from.

    Attributes:
        body: the page object (``{"value": [...], "nextLink": ...}``); a bare array of
            registries is wrapped as ``{"value": [...]}``.
        source: a human-readable origin for error messages (file name, ``file:line``, URL).
        url: the URL it was fetched from, if known.
        fetched_at: ISO timestamp of the fetch, if known.
        api_version: the ARM api-version it was fetched with, if known.
    """

    body: dict[str, Any]
    source: str
    url: str | None = None
    fetched_at: str | None = None
    api_version: str | None = None

    @property
    def registries(self) -> list[Any]:
        """The page's ``value`` list (``Value`` too); empty when it is missing or null."""
        for key in ("value", "Value"):
            if key in self.body:
                value = self.body[key]
                return value if isinstance(value, list) else []
        return []

    @property
    def next_link(self) -> str | None:
        value = self.body.get("nextLink", self.body.get("NextLink"))
        return value if isinstance(value, str) and value else None


def _page_from_json(obj: Any, source: str) -> Page | list[Any]:
    """A page for page-shaped JSON; a list of registries for a bare array or a registry."""
    if isinstance(obj, list):
        return Page({"value": obj}, source)
    if not isinstance(obj, dict):
        raise PagesError(
            f"{source} holds a JSON {type(obj).__name__}, not a page object or an array of "
            "registries; pass ARM list responses ({'value': [...]})",
            path=source,
        )
    if "responses" in obj and "parameters" in obj:  # an Azure REST spec example file
        ok = next((r for code, r in obj["responses"].items() if str(code) == "200"), None)
        body = ok.get("body") if isinstance(ok, dict) else None
        if body is None:
            return []
        return _page_from_json(body, f"{source} (example 200 body)")
    provenance = obj.get(PROVENANCE_KEY)
    if any(k.lower() == "value" for k in obj):
        body = {k: v for k, v in obj.items() if k != PROVENANCE_KEY}
        prov = provenance if isinstance(provenance, dict) else {}
        return Page(
            body,
            source,
            url=prov.get("url"),
            fetched_at=prov.get("fetched_at"),
            api_version=prov.get("api_version"),
        )
    return [obj]  # a single registry (a Get response, or one NDJSON line)


def _read_file(path: Path) -> Iterator[Page]:
    source = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PagesError(f"cannot read {path}: {exc}", path=str(path)) from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if path.suffix.lower() not in (".ndjson", ".jsonl"):
        try:  # orjson parses pages several times faster than json; json explains errors better
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            yield from _pages_of(obj, source)
            return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PagesError(
            f"{path} is not UTF-8 text ({exc}); re-save it as UTF-8", path=str(path)
        ) from exc
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        loose: list[Any] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                try:  # the stdlib parser says where and why
                    json.loads(line)
                except json.JSONDecodeError as exc:
                    detail = f"{exc.msg} at column {exc.colno}"
                else:  # pragma: no cover - orjson is stricter only on exotic input
                    detail = "rejected by the JSON parser"
                raise PagesError(
                    f"{path}:{number} is not valid JSON ({detail}); "
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
        return
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PagesError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "fix or remove the file",
            path=str(path),
            line=exc.lineno,
        ) from exc
    yield from _pages_of(obj, source)


def _pages_of(obj: Any, source: str) -> Iterator[Page]:
    got = _page_from_json(obj, source)
    if isinstance(got, Page):
        yield got
    elif got:
        yield Page({"value": got}, source)


def _expand(source: str | os.PathLike[str]) -> list[Path]:
    path = Path(source)
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
    text = os.fspath(source)
    if glob.has_magic(text):
        return sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    raise PagesError(
        f"{text} is neither a file, a folder nor a glob that matches files; check the path",
        path=text,
    )


def iter_pages(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> Iterator[Page]:
    """Yield the pages of files, folders (searched recursively, sorted) and globs, lazily."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    for source in sources:
        files = _expand(source)
        if not files:
            raise PagesError(
                f"{os.fspath(source)} holds no page files ({', '.join(PAGE_SUFFIXES)})",
                path=os.fspath(source),
            )
        for file in files:
            yield from _read_file(file)


def read_pages(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Page]:
    """Read ARM list pages from a file, a folder, a glob, or a list of them.

    Accepts page objects, bare JSON arrays of registries, NDJSON (``.ndjson``/``.jsonl``:
    one page or one registry per line) and Azure REST spec example files. In a folder,
    files and subfolders whose names start with ``_`` or ``.`` are skipped (metadata such
    as ``_subscriptions.json``); name such a file directly to read it anyway.

    Raises:
        PagesError: a path matches nothing, or a file is not valid JSON (naming file and line).

    Example::

        >>> pages = read_pages("data/sample")            # doctest: +SKIP
        >>> pages = read_pages(["a.json", "more/*.ndjson"])  # doctest: +SKIP
    """
    with paused_gc():
        return list(iter_pages(sources))


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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
