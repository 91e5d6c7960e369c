"""ARM resource ids normalised one way, on both sides of every join.

ARM ids are case-insensitive, and exports and payloads write them with stray spaces, a
trailing ``/`` or without the leading ``/``. :func:`norm_resource_id` is the one place that
decides what an id compares as; the registry side (:func:`~.regions.cost_drivers`) and the
cost side (:func:`~.costs.normalise_costs`) both call it.

Only ARM ids are normalised. Anything else (an AWS ARN, a GCP resource name, a reservation
order written without ``/providers``) is kept exactly as written, apart from surrounding
spaces, and never matches a registry's resource. The literal ``NULL`` that FOCUS files write
for "no resource" is a null.

Example::

    >>> import pandas as pd
    >>> norm_resource_id(pd.Series([" /Subscriptions/S/resourceGroups/RG/ ", "subscriptions/s",
    ...                             "arn:aws:sqs:us-west-2:1:Q", "NULL", ""])).tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    ['/subscriptions/s/resourcegroups/rg', '/subscriptions/s', 'arn:aws:sqs:us-west-2:1:Q',
     <NA>, <NA>]
"""

from __future__ import annotations

import pandas as pd

__all__ = ["is_arm_id", "norm_resource_id"]

_ARM_HEADS = ("/subscriptions/", "/providers/")
_NULLS = ("", "null", "none")


def is_arm_id(ids: pd.Series) -> pd.Series:
    """True where a normalised id is an ARM id (``/subscriptions/...`` or ``/providers/...``)."""
    text = ids.astype("string[pyarrow]")
    return text.str.startswith(_ARM_HEADS).fillna(False).astype(bool)


def norm_resource_id(ids: pd.Series) -> pd.Series:
    """ARM ids lower-cased and trimmed, with one leading and no trailing ``/``; others as written.

    Each distinct value is worked out once (exports repeat a few thousand ids over millions of
    rows). Returns a ``string[pyarrow]`` Series on the same index.
    """
    codes, uniques = pd.factorize(ids.astype("string[pyarrow]"), use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string[pyarrow]").str.strip()
    lowered = text.str.lower()
    bare = lowered.str.startswith(("subscriptions/", "providers/")).fillna(False)
    lowered = lowered.where(~bare, "/" + lowered)
    arm = lowered.str.startswith(_ARM_HEADS).fillna(False)
    trimmed = lowered.str.rstrip("/")
    out = trimmed.where(arm, text)
    out = out.mask(lowered.isin(_NULLS))
    if out.empty:  # every id null
        return pd.Series(pd.NA, index=ids.index, dtype="string[pyarrow]")
    result = out.take(codes.clip(min=0)).set_axis(ids.index)
    return result.mask(codes < 0).astype("string[pyarrow]")
