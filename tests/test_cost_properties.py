"""Generated exports: the total is conserved, or the file is refused; never a third outcome.

Hypothesis writes exports in the shapes real ones take (either format, any header case and
column order, extra quoted columns with delimiters inside, a byte-order mark, CRLF, semicolons
with decimal commas, gzip) and, half of the time, one defect a real file has had (a shifted
row, a cut last line, an infinite or empty cost, a case-twin column, an empty date). A clean
file must read with its exact row count and total, and every join must keep that total; a
defective one must raise CostExportError. Anything else (another exception, a wrong total,
a missing row) fails.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames import analysis

from .registry_factory import acr_id, make_registry, mrg_id, storage_id

FLEET = mf.flatten(
    [make_registry("a", replicas=["westus2"]), make_registry("b", location="westeurope")]
)
IDS = [
    storage_id("a", "eastus"), storage_id("a", "westus2").upper(), acr_id("b", "westeurope") + "/",
    mrg_id("a") + "/providers/Microsoft.KeyVault/vaults/kv", "arn:aws:s3:::bucket", "NULL", "",
    "/subscriptions/x/resourceGroups/other/providers/P/t/n",
]  # fmt: skip
FORMATS = {
    "cost-details": (
        "ResourceId",
        "CostInBillingCurrency",
        "Date",
        "BillingCurrency",
        "ResourceLocation",
    ),
    "focus": ("ResourceId", "BilledCost", "ChargePeriodStart", "BillingCurrency", "RegionName"),
}
DEFECTS = (
    "extra-field",
    "missing-field",
    "cut-last-line",
    "inf",
    "empty-cost",
    "twin",
    "empty-date",
)

costs = st.decimals(
    min_value=-1000, max_value=100000, places=6, allow_nan=False, allow_infinity=False
)


@st.composite
def exports(draw: st.DrawFn) -> tuple[bytes, str, int, float, str | None]:
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    semicolon = draw(st.booleans())
    delim = ";" if semicolon else ","
    header = list(FORMATS[fmt])
    extra = draw(st.booleans())
    if extra:
        header.append("AdditionalInfo")
    order = draw(st.permutations(range(len(header))))
    cased = [draw(st.sampled_from([h, h.lower(), h.upper()])) for h in header]
    n = draw(st.integers(min_value=1, max_value=30))
    slashed = fmt == "cost-details" and draw(st.booleans())
    rows, total = [], []
    for _ in range(n):
        cost = draw(costs)
        total.append(float(cost))
        text = format(cost, "f")
        if semicolon:
            text = text.replace(".", ",")
        day = draw(st.dates(min_value=__import__("datetime").date(2020, 1, 1),
                            max_value=__import__("datetime").date(2030, 12, 31)))  # fmt: skip
        date = day.isoformat() + ("T00:00:00Z" if fmt == "focus" else "")
        if slashed:  # Cost Management's MM/DD/YYYY (ambiguous days are read month first)
            date = day.strftime("%m/%d/%Y")
        values = [draw(st.sampled_from(IDS)), text, date, "USD",
                  draw(st.sampled_from(["eastus", "US West 2", "", "West Europe"]))]  # fmt: skip
        if extra:
            values.append(draw(st.sampled_from(['{"a": 1, "b": 2}', "x;y,z", "", "line\nbreak"])))
        rows.append(values)
    defect = draw(st.one_of(st.none(), st.sampled_from(DEFECTS)))
    if defect == "twin":
        cased.append(cased[1].swapcase())
        order = [*order, len(header)]
        for r in rows:
            r.append("1")
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=delim, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    writer.writerow([cased[i] for i in order])
    target = draw(st.integers(min_value=0, max_value=n - 1))
    for k, r in enumerate(rows):
        if k == target and defect in ("inf", "empty-cost", "empty-date"):
            r = list(r)
            r[1 if defect != "empty-date" else 2] = {
                "inf": "inf",
                "empty-cost": "",
                "empty-date": "",
            }[defect]
        line = [r[i] for i in order]
        if k == target and defect == "extra-field":
            line.append("oops")
        if k == target and defect == "missing-field":
            line = line[:-1]
        writer.writerow(line)
    text = buffer.getvalue()
    if defect == "cut-last-line":
        text = text.rstrip("\r\n")
        cut = text.rfind(delim)
        text = text[:cut]
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    name = "export.csv"
    if draw(st.booleans()):
        data, name = gzip.compress(data), "export.csv.gz"
    return data, name, n, math.fsum(total), defect


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(export=exports())
def test_total_conserved_or_refused(tmp_path: Path, export):
    data, name, n, total, defect = export
    path = tmp_path / name
    path.write_bytes(data)
    if defect is not None:
        with pytest.raises(mf.CostExportError):
            mf.read_cost_export(path)
        return
    frame = mf.read_cost_export(path)
    assert len(frame) == n
    assert math.fsum(frame["cost"]) == pytest.approx(total, rel=1e-12, abs=1e-9)
    joined = analysis.join_costs(FLEET, frame)
    assert joined["cost"].sum() == pytest.approx(total, rel=1e-9, abs=1e-6)
    matched = analysis.match_costs(FLEET, frame)
    assert matched.groupby(matched.index.map(lambda _: 0))["cost"].sum().iloc[0] == pytest.approx(
        total, rel=1e-9, abs=1e-6
    )
    assert (
        matched.loc[matched["resource_id"].str.startswith("arn:").fillna(False), "registry_id"]
        .isna()
        .all()
    )
