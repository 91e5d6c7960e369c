"""HTML of the explorer's views: escaped tables in scroll boxes, ids that shorten, the key guard.

Plain strings for ``ipywidgets.HTML``. Every value is escaped; blanks read "(not set)";
numbers are right-aligned; a long ARM id shows its tail with the whole id on hover (``title``)
and in the text, so selecting or copying it takes the full id.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from .format import NOT_SET, shown

__all__ = [
    "DETAIL_HEIGHT",
    "EXPLORER_CSS",
    "KEY_GUARD",
    "cell",
    "frame_html",
    "id_html",
    "pairs_html",
    "scroll_box",
]

_SCROLL = "mlreg-scroll"
_SCROLL_STYLE = "width:0;min-width:100%;overflow:auto"
# Cells are scoped under the scroll box so they outrank the global ``.dataframe thead th
# {text-align:right}`` that every pandas DataFrame output in the same notebook page injects.
# Headers wrap (a three-word header takes two short lines, not one wide column); values do not.
_STYLE = (
    "<style>.mlreg-t{border-collapse:collapse;font-size:12px}"
    ".mlreg-scroll .mlreg-t th,.mlreg-scroll .mlreg-t td{padding:2px 8px;"
    "border-bottom:1px solid #ddd;text-align:left;white-space:nowrap;vertical-align:top;"
    "line-height:1.35}"
    ".mlreg-scroll .mlreg-t th{background:#f4f6f7;white-space:normal;vertical-align:bottom}"
    ".mlreg-scroll .mlreg-t .mlreg-num{text-align:right;font-variant-numeric:tabular-nums}"
    ".mlreg-scroll .mlreg-t tr.mlreg-total td{font-weight:bold;border-top:2px solid #999}"
    ".mlreg-scroll .mlreg-t td.mlreg-blank{color:#888}"
    ".mlreg-scroll .mlreg-kv{width:100%;table-layout:fixed;margin-bottom:8px}"
    ".mlreg-scroll .mlreg-kv th{width:38%;font-weight:normal;color:#555;background:none;"
    "vertical-align:top}"
    ".mlreg-scroll .mlreg-kv td{white-space:normal;overflow-wrap:anywhere}"
    ".mlreg-scroll .mlreg-t caption{text-align:left;font-weight:bold;padding:6px 0 2px}"
    # an id's box shows the end of the id (the name), the text stays whole for select and copy
    ".mlreg-id{display:inline-block;max-width:24em;overflow:hidden;vertical-align:bottom;"
    "user-select:all;cursor:text}.mlreg-id>span{float:right;white-space:nowrap}"
    "</style>"
)

# Tab bars wrap onto a second row instead of cutting nine tab titles to a few letters each in a
# half-width column (class names of ipywidgets 8's Lumino tab bar; elsewhere titles just shrink).
# Every box sizes with its border inside, so the picker does not overhang the explorer's edge.
EXPLORER_CSS = (
    "<style>.mlreg-explorer .widget-tab-bar{height:auto !important;min-height:26px}"
    ".mlreg-explorer .widget-tab-bar .lm-TabBar-content{flex-wrap:wrap}"
    ".mlreg-explorer .widget-tab-bar .lm-TabBar-tab{flex:0 0 auto !important;min-width:0}"
    ".mlreg-explorer .widget-select select,.mlreg-explorer .widget-text input"
    "{box-sizing:border-box}</style>"
)

# Notebook hosts bind single keys (D D deletes a cell, M / R change its type, arrows move)
# and skip them only when focus is in a text box. Dropdowns, lists, tabs and buttons are not
# text boxes, so the explorer guards itself. Lumino (JupyterLab, Notebook 7) matches no shortcut
# for a key event whose target carries ``data-lm-suppress-shortcuts``: the shortcuts' selectors
# end in ``:focus``, which the focused control itself matches, so the mark must be on that
# control; every element that takes focus inside the explorer gets it (on ``focusin``, before
# any key). Key events also stop at the explorer's root, before any host listener further up
# (JupyterLab listens on the document in the bubbling phase; VS Code's webview forwards keys
# from its document). A control's own keys (arrows in a list, typing) still work: only the
# shortcuts and the propagation stop. ipywidgets.HTML runs no <script>, so the guard is set up
# by the load handler of a 1x1 image in the explorer's own constant HTML; no data is in it.
KEY_GUARD = (
    "<img alt='' width='1' height='1' style='position:absolute;opacity:0' "
    "src='data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=' "
    "onload=\"var r=this.closest('.mlreg-explorer');if(r&amp;&amp;!r.dataset.lmSuppressShortcuts)"
    "{r.dataset.lmSuppressShortcuts='true';"
    "r.addEventListener('focusin',function(e){e.target.setAttribute("
    "'data-lm-suppress-shortcuts','true');});"
    "['keydown','keypress','keyup'].forEach(function(t){r.addEventListener(t,"
    'function(e){e.stopPropagation();});});}">'
)


def scroll_box(inner: str, max_height: int = 0) -> str:
    """``inner`` in a box as wide as the widget that scrolls on its own.

    ``width:0;min-width:100%`` keeps the content's width out of the layout, so a wide table
    scrolls sideways inside its box instead of pushing the whole explorer sideways with it.
    """
    height = f"max-height:{max_height}px;" if max_height else ""
    return f"{_STYLE}<div class='{_SCROLL}' style='{height}{_SCROLL_STYLE}'>{inner}</div>"


def cell(value: Any) -> str:
    """One escaped value; a blank reads :data:`~mlreg_frames.widgets.format.NOT_SET`."""
    return html.escape(shown(value))


def id_html(value: Any) -> str:
    """A long id, shown by its tail (``…/registries/name``): the whole id is the text (select
    or copy it) and the ``title`` (hover)."""
    text = cell(value)
    if text == NOT_SET:
        return text
    return f"<span class='mlreg-id' title='{text}'><span>{text}</span></span>"


def _td(value: Any, *, numeric: bool, is_id: bool, formats: Mapping[str, Any], col: str) -> str:
    classes = []
    if numeric:
        classes.append("mlreg-num")
    text = formats[col](value) if col in formats and value is not None else None
    body = html.escape(text) if text is not None else (id_html(value) if is_id else cell(value))
    if body == NOT_SET:
        classes.append("mlreg-blank")
    attr = f" class='{' '.join(classes)}'" if classes else ""
    return f"<td{attr}>{body}</td>"


def frame_html(
    frame: pd.DataFrame,
    *,
    empty: str = "nothing here",
    max_height: int = 0,
    headers: Mapping[str, str] | None = None,
    numeric: Collection[str] = (),
    ids: Collection[str] = (),
    formats: Mapping[str, Any] | None = None,
    totals: Sequence[Any] | None = None,
    caption: str = "",
) -> str:
    """A frame as a compact, escaped HTML table in its own scroll box.

    Args:
        headers: the header shown for a column (else its name).
        numeric: columns right-aligned (numbers, money).
        ids: columns holding long ids (see :func:`id_html`).
        formats: a function per column turning a value into its text (e.g. money).
        totals: one value per column for a last, bold row (``None``: an empty cell).
        caption: a title above the table.
    """
    if frame.empty:
        return f"<i>{html.escape(empty)}</i>"
    names = headers or {}
    fmt = formats or {}
    cols = list(frame.columns)
    head = "".join(
        f"<th{' class=mlreg-num' if c in numeric else ''}>{html.escape(str(names.get(c, c)))}</th>"
        for c in cols
    )
    rows = "".join(
        "<tr>"
        + "".join(
            _td(v, numeric=c in numeric, is_id=c in ids, formats=fmt, col=c)
            for c, v in zip(cols, row, strict=True)
        )
        + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    if totals is not None:
        cells = "".join(
            "<td></td>"
            if v is None
            else _td(v, numeric=c in numeric, is_id=False, formats=fmt, col=c)
            for c, v in zip(cols, totals, strict=True)
        )
        rows += f"<tr class='mlreg-total'>{cells}</tr>"
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    table = (
        f"<table class='mlreg-t'>{title}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
    return scroll_box(table, max_height)


DETAIL_HEIGHT = 420
"""Most pixels a detail tab is tall; longer ones scroll in their box."""


def pairs_html(
    pairs: Sequence[tuple[str, Any]], *, caption: str = "", ids: Collection[str] = ()
) -> str:
    """A key/value table (one line per field, blanks "(not set)"), without its scroll box."""
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{id_html(v) if k in ids else cell(v)}</td></tr>"
        for k, v in pairs
    )
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='mlreg-t mlreg-kv'>{title}{rows}</table>"
