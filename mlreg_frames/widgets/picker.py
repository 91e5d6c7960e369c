"""The registry picker: a list of the registries the filters keep, with a search of its own.

Its height follows the fleet (:func:`picker_rows`: from 6 rows for a handful of registries to
16 for hundreds), and its search box narrows the list without changing the table's filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

__all__ = ["RegistryPicker", "picker_rows"]


def picker_rows(count: int) -> int:
    """Rows of the list for a fleet of ``count`` registries: 6 to 16, one per registry in
    between, so a short list has no empty space and a long one stays beside the detail."""
    return max(6, min(16, count))


class RegistryPicker(widgets.VBox):
    """A search box over a list of registries.

    Attributes:
        search: text narrowing the list (case-insensitive, part of the label).
        list: the ``Select`` of (label, registry id) options.
    """

    def __init__(self, total: int) -> None:
        self.search = widgets.Text(
            placeholder="find a registry in the list",
            layout=widgets.Layout(width="100%"),
        )
        self.list = widgets.Select(rows=picker_rows(total), layout=widgets.Layout(width="100%"))
        self._options: list[tuple[str, str]] = []
        self.search.observe(self._on_search, names="value")
        super().__init__(
            [widgets.HTML("<b>registry</b>"), self.search, self.list],
            layout=widgets.Layout(width="100%", overflow="hidden"),
        )

    def set_options(self, options: Sequence[tuple[str, str]]) -> None:
        """Offer these (label, id) pairs (the registries the filters keep)."""
        self._options = list(options)
        self._apply()

    def _on_search(self, _change: Any) -> None:
        self._apply()

    def _apply(self) -> None:
        text = self.search.value.strip().casefold()
        shown = [o for o in self._options if text in o[0].casefold()] if text else self._options
        current = self.list.value
        ids = [i for _, i in shown]
        self.list.options = shown
        self.list.value = current if current in ids else (ids[0] if ids else None)
