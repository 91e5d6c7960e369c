"""The explorer's "Changes" tab: one registry's change log and its timeline.

:func:`changes_tab` builds it from a ``changes`` frame (:func:`mlreg_frames.fetch_changes`,
:func:`mlreg_frames.changes`): a line saying how many changes and from where, a compact table
newest first (when, what, property, old -> new, who) in a scroll box, and the timeline chart of
:func:`mlreg_frames.plots.change_timeline` as an image. Standard ipywidgets only (HTML, an
image, a box), so it renders the same in JupyterLab, Notebook 7 and VS Code.

Example::

    >>> tab = changes_tab(mf.changes("out/lake", graph=found), registry_id)   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from .. import plots
from ._html import DETAIL_HEIGHT, frame_html

__all__ = ["CHANGE_COLUMNS", "TIMELINE_DPI", "changes_html", "changes_tab", "compact_changes"]

TIMELINE_DPI = 100
"""The timeline is drawn at this dpi and shown 1:1 (7 x 2.8 in: 700 x 280 px), so its 9 pt
labels are 12.5 px on screen."""

CHANGE_COLUMNS = ("when", "change", "resource", "property", "old", "new", "by", "source")
"""The columns of the tab's table."""

_CUT = 48


def _short(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    text = str(value)
    return text if len(text) <= _CUT else text[: _CUT - 1] + "…"


def compact_changes(changes: pd.DataFrame, registry_id: str) -> pd.DataFrame:
    """The rows of one registry (its id, case-insensitive) as the tab shows them, newest first.

    Example::

        >>> from mlreg_frames import schema
        >>> compact_changes(schema.empty_frame("changes"), "r").columns.tolist()
        ['when', 'change', 'resource', 'property', 'old', 'new', 'by', 'source']
    """
    rows = changes[changes["registry_id"].fillna("").str.lower() == registry_id.lower()]
    rows = rows.sort_values("time", ascending=False, na_position="last", kind="stable")
    out = pd.DataFrame(
        {
            "when": rows["time"].dt.strftime("%Y-%m-%d %H:%M"),
            "change": rows["change_type"],
            "resource": rows["resource_id"].str.rsplit("/", n=1).str[-1],
            "property": rows["property"].str.removeprefix("properties."),
            "old": rows["old"].map(_short),
            "new": rows["new"].map(_short),
            "by": rows["changed_by"],
            "source": rows["source"],
        }
    )
    return out.reset_index(drop=True)


def _summary(shown: pd.DataFrame, registry_id: str) -> str:
    sources = shown["source"].value_counts().to_dict()
    where = ", ".join(f"{n} from {s}" for s, n in sorted(sources.items()))
    name = html.escape(registry_id.rsplit("/", 1)[-1])
    return f"<b>{len(shown)}</b> changed properties of <b>{name}</b>" + (
        f" ({where}), newest first" if where else ""
    )


def _timeline_png(changes: pd.DataFrame, registry_id: str) -> bytes:
    fig = Figure(figsize=(7.0, 2.8), layout="constrained")
    plots.change_timeline(changes, registry_id.lower(), fig.subplots())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=TIMELINE_DPI)
    return buffer.getvalue()


def changes_html(changes: pd.DataFrame, registry_id: str) -> str:
    """The tab as one HTML string (summary, table, timeline as an inline PNG), the form the
    explorer's detail tabs take (``mf.explore(tables, changes=...)``).

    Example::

        >>> from mlreg_frames import schema
        >>> "no changes recorded" in changes_html(schema.empty_frame("changes"), "r")
        True
    """
    shown = compact_changes(changes, registry_id)
    table = frame_html(shown, empty="no changes recorded for this registry",
                       max_height=DETAIL_HEIGHT // 2)  # fmt: skip
    png = base64.b64encode(_timeline_png(changes, registry_id)).decode("ascii")
    image = f'<img alt="changes per day" style="max-width:100%" src="data:image/png;base64,{png}">'
    return f"<div>{_summary(shown, registry_id)}</div>{table}{image}"


def changes_tab(changes: pd.DataFrame, registry_id: str) -> widgets.Widget:
    """A widget with one registry's changes: a summary line, the table and the timeline.

    Args:
        changes: a ``changes`` frame (graph rows, lake rows or both).
        registry_id: the registry (its ``registry_id``; any case).

    Returns:
        An ``ipywidgets.VBox``; its ``children`` are the summary (HTML), the table (HTML) and
        the timeline (a PNG ``Image``).
    """
    shown = compact_changes(changes, registry_id)
    summary = widgets.HTML(_summary(shown, registry_id))
    table = widgets.HTML(frame_html(shown, empty="no changes recorded for this registry",
                                    max_height=DETAIL_HEIGHT // 2))  # fmt: skip
    image = widgets.Image(value=_timeline_png(changes, registry_id), format="png",
                          layout=widgets.Layout(max_width="100%"))  # fmt: skip
    return widgets.VBox([summary, table, image])
