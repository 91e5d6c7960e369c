"""Text that Arrow and Parquet can hold: lone surrogates, deep nesting, JSON for ``extra``.

JSON text may carry a lone UTF-16 surrogate (``"\\ud800"``), which Python decodes to a ``str``
that cannot be written as UTF-8, so no Arrow or Parquet string can hold it. Rather than drop
it or fail, the flattener keeps it in a reversible textual form:

* in a **string column**, each lone surrogate becomes the six characters ``\\udXXX``
  (lower-case hex, as JSON writes it); a backslash that already starts such a sequence,
  or ``\\u005c``, in the original text is written ``\\u005c`` so the form stays reversible.
  :func:`restore_surrogates` gives back the exact original string;
* in the **extra** column (JSON text), a lone surrogate is written as the JSON escape
  ``\\udXXX``, so ``json.loads`` gives back the exact original value.

Strings without a lone surrogate and without those rare literal sequences are unchanged.

JSON values are encoded only down to :data:`MAX_DEPTH` levels of nesting: deeper input is a
:class:`~mlreg_frames.errors.FlattenError` naming the path, never a ``RecursionError``.

Example::

    >>> escape_surrogates("a\\ud800b")
    'a\\\\ud800b'
    >>> restore_surrogates(escape_surrogates("a\\ud800b")) == "a\\ud800b"
    True
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "BadValue",
    "encode_json",
    "escape_surrogates",
    "find_bad_value",
    "needs_escape",
    "restore_surrogates",
    "short_path",
]

MAX_DEPTH = 256
"""Deepest nesting of objects and lists kept in a cell (ARM payloads nest about 8 deep)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
# The literal sequences the escaped form gives a meaning to: they are escaped too.
_LITERAL = re.compile(r"\\(?=u(?:005c|d[89a-f][0-9a-f]{2}))")
_ESCAPED = re.compile(r"\\u(005c|d[89a-f][0-9a-f]{2})")
_NEEDS = re.compile("[\ud800-\udfff]|\\\\u(?:005c|d[89a-f][0-9a-f]{2})")


def needs_escape(text: str) -> bool:
    """Whether :func:`escape_surrogates` would change ``text``."""
    return _NEEDS.search(text) is not None


def escape_surrogates(text: str) -> str:
    """``text`` with lone surrogates as ``\\udXXX`` escapes, reversibly (see the module doc)."""
    if not needs_escape(text):
        return text
    text = _LITERAL.sub(r"\\u005c", text)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def restore_surrogates(text: str) -> str:
    """The original string of a cell written by :func:`escape_surrogates`.

    Example::

        >>> restore_surrogates("x\\\\udc80")  == "x\\udc80"
        True
    """
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def short_path(path: str, limit: int = 160) -> str:
    """A long JSON path cut in the middle, so an error message stays one readable line."""
    return path if len(path) <= limit else f"{path[:100]}...{path[-40:]}"


class BadValue:
    """Why a value cannot be encoded (too deep, a key that is not a string) and where."""

    __slots__ = ("path", "reason")

    def __init__(self, reason: str, path: str):
        self.reason = reason
        self.path = path


def _child_path(path: str, key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def find_bad_value(value: Any, path: str = "", limit: int = MAX_DEPTH) -> BadValue | None:
    """The first place in ``value`` nested deeper than ``limit`` or with a non-string key.

    Iterative, so it never recurses however deep the value is.

    Example::

        >>> find_bad_value({"a": [[1]]}, "extra", limit=2).path
        'extra.a[0]'
    """
    if not isinstance(value, (dict, list)):
        return None
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        node, where, depth = stack.pop()
        if depth > limit:
            return BadValue(
                f"nested deeper than {limit} levels; such a payload is not an ARM registry", where
            )
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    return BadValue(
                        f"has a key {key!r} of type {type(key).__name__}; JSON object keys are "
                        "strings (convert the keys with str())",
                        where or "(root)",
                    )
                if isinstance(child, (dict, list)):
                    stack.append((child, _child_path(where, key), depth + 1))
        else:
            for index, child in enumerate(node):
                if isinstance(child, (dict, list)):
                    stack.append((child, _child_path(where, index), depth + 1))
    return None


def encode_json(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as JSON text that UTF-8 can hold (lone surrogates as JSON escapes).

    The caller checks the value with :func:`find_bad_value` first.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=str)
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
