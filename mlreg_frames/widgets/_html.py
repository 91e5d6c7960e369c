"""HTML of the explorer's views: escaped tables and stacked key/value blocks in scroll boxes.

Plain strings for ``ipywidgets.HTML``: no JavaScript, so they render the same in JupyterLab,
Notebook 7 and VS Code.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

__all__ = ["DETAIL_HEIGHT", "EXPLORER_CSS", "cell", "frame_html", "records_html", "scroll_box"]

_SCROLL = "mlreg-scroll"
_SCROLL_STYLE = "width:0;min-width:100%;overflow:auto"
# Cells are scoped under the scroll box so they outrank the global ``.dataframe thead th
# {text-align:right}`` that every pandas DataFrame output in the same notebook page injects.
# Key/value blocks wrap long values (ARM ids, URIs) anywhere instead of widening the box.
_STYLE = (
    "<style>.mlreg-t{border-collapse:collapse;font-size:12px}"
    ".mlreg-scroll .mlreg-t th,.mlreg-scroll .mlreg-t td{padding:2px 8px;"
    "border-bottom:1px solid #ddd;text-align:left;white-space:nowrap;vertical-align:top;"
    "line-height:1.35}"
    ".mlreg-scroll .mlreg-t th{background:#f4f6f7}"
    ".mlreg-scroll .mlreg-kv{width:100%;table-layout:fixed;margin-bottom:8px}"
    ".mlreg-scroll .mlreg-kv th{width:44%;font-weight:normal;color:#555}"
    ".mlreg-scroll .mlreg-t.mlreg-kv th{white-space:normal;overflow-wrap:break-word}"
    ".mlreg-scroll .mlreg-t.mlreg-kv td{white-space:normal;overflow-wrap:anywhere}"
    ".mlreg-scroll .mlreg-kv caption{text-align:left;font-weight:bold;padding:4px 0}</style>"
)

# Tab bars wrap onto a second row instead of cutting nine tab titles to a few letters each in a
# half-width column (class names of ipywidgets 8's Lumino tab bar; elsewhere titles just shrink).
EXPLORER_CSS = (
    "<style>.mlreg-explorer .widget-tab-bar{height:auto !important;min-height:26px}"
    ".mlreg-explorer .widget-tab-bar .lm-TabBar-content{flex-wrap:wrap}"
    ".mlreg-explorer .widget-tab-bar .lm-TabBar-tab{flex:0 0 auto !important;min-width:0}</style>"
)


def scroll_box(inner: str, max_height: int = 0) -> str:
    """``inner`` in a box as wide as the widget that scrolls on its own.

    ``width:0;min-width:100%`` keeps the content's width out of the layout, so a wide table
    scrolls sideways inside its box instead of pushing the whole explorer sideways with it.
    """
    height = f"max-height:{max_height}px;" if max_height else ""
    return f"{_STYLE}<div class='{_SCROLL}' style='{height}{_SCROLL_STYLE}'>{inner}</div>"


def cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d %H:%M:%S %Z").strip())
    return html.escape(str(value))


def frame_html(frame: pd.DataFrame, *, empty: str = "nothing here", max_height: int = 0) -> str:
    """A frame as a compact, escaped HTML table in its own scroll box."""
    if frame.empty:
        return f"<i>{html.escape(empty)}</i>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    table = f"<table class='mlreg-t'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return scroll_box(table, max_height)


DETAIL_HEIGHT = 400
"""Most pixels a detail tab is tall; longer ones scroll in their box, beside the table."""


def records_html(frame: pd.DataFrame, *, empty: str, title: str | None = None) -> str:
    """Each row as its own block of key/value pairs, stacked: a narrow detail pane shows every
    field (long ids wrap) instead of cutting the columns to the right."""
    if frame.empty:
        return f"<i>{html.escape(empty)}</i>"
    blocks = []
    for i, (_, row) in enumerate(frame.iterrows(), start=1):
        shown = row.dropna()
        caption = f"{i} of {len(frame)}" if len(frame) > 1 or title else ""
        if title is not None and title in shown:
            caption += f": {shown[title]}"
        pairs = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{cell(v)}</td></tr>" for k, v in shown.items()
        )
        head = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        blocks.append(f"<table class='mlreg-t mlreg-kv'>{head}{pairs}</table>")
    return scroll_box("".join(blocks), DETAIL_HEIGHT)
