"""Option types that check ranges up front, so a bad value is a usage error, never a traceback.

Click's own ``FloatRange`` lets ``nan`` through (every comparison with nan is false) and
accepts ``inf``; :class:`FiniteFloat` refuses both. Ports are 1-65535, or 0 where "any free
port" makes sense; sizes and counts are at least 1.

Example::

    >>> FiniteFloat(min=0).convert("1.5", None, None)
    1.5
"""

from __future__ import annotations

import math
from typing import Any

import click
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

__all__ = ["COUNT", "PORT", "PORT_OR_ANY", "FiniteFloat", "HttpUrl", "NonEmpty"]

COUNT = click.IntRange(min=1)
"""A size or a count: 1 or more."""

PORT = click.IntRange(1, 65535)
"""A TCP port."""

PORT_OR_ANY = click.IntRange(0, 65535)
"""A TCP port to listen on; 0 picks a free one."""


class FiniteFloat(click.ParamType):
    """A finite float (no ``nan``, no ``inf``), at least ``min`` (above it if ``min_open``)."""

    name = "number"

    def __init__(self, *, min: float | None = None, min_open: bool = False) -> None:
        self.min = min
        self.min_open = min_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.min is not None and (number <= self.min if self.min_open else number < self.min):
            bound = "above" if self.min_open else "at least"
            self.fail(f"{value!r} is not {bound} {self.min:g}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"FiniteFloat(min={self.min!r}, min_open={self.min_open!r})"


class NonEmpty(click.ParamType):
    """A text that is not empty nor only blanks (a subscription id, a resource group...)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if not text:
            self.fail("must not be empty", param, ctx)
        return text


class HttpUrl(click.ParamType):
    """An ``http(s)://host[:port]`` URL whose port (if any) is 1-65535.

    Only the form is checked here; whether a token may go there is decided by the fetcher.
    """

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        bad = (
            f"{text!r} is not a valid http(s) URL: scheme://host[:port], port 1-65535, "
            "e.g. https://management.azure.com"
        )
        if any(ch.isspace() or ord(ch) < 32 for ch in str(value).strip()):
            self.fail(bad, param, ctx)
        try:
            url = parse_url(text)
        except (LocationParseError, ValueError):
            self.fail(bad, param, ctx)
        if (url.scheme or "").lower() not in ("http", "https") or not url.host:
            self.fail(bad, param, ctx)
        if "\\" in text or url.auth:
            self.fail(f"{text!r}: a backslash or user@ has no place in an endpoint", param, ctx)
        if url.port is not None and not 1 <= url.port <= 65535:
            self.fail(f"{text!r}: port {url.port} is not in 1-65535", param, ctx)
        return text
