"""Cost exports that would be read wrong are refused, with the file, the row and the reason.

Each case is a file with one real-world defect; the right outcome is a CostExportError that
says where and why, never a frame with shifted values, a zero for an unknown, or infinity.
"""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pandas as pd
import pytest

import mlreg_frames as mf

from .registry_factory import storage_id

HEADER = "Date,BillingCurrency,CostInBillingCurrency,ResourceId,ResourceLocation,MeterCategory"
RID = storage_id("a", "eastus")
GOOD = f"01/05/2025,USD,1.5,{RID},eastus,Storage"


def write(tmp_path: Path, rows: list[str], *, header: str = HEADER, name: str = "c.csv",
          end: str = "\n") -> Path:  # fmt: skip
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + end, encoding="utf-8")
    return path


def refused(path: Path, match: str, **options: object) -> mf.CostExportError:
    with pytest.raises(mf.CostExportError, match=match) as info:
        mf.read_cost_export(path, **options)  # type: ignore[arg-type]
    return info.value


# --- 1, 2: rows with the wrong number of fields ---------------------------------------------


@pytest.mark.parametrize(
    ("row", "match"),
    [
        # an unquoted decimal comma: cost "2", currency "5" if read shifted
        (
            f"01/06/2025,USD,2,5,{RID},eastus,Storage",
            r"line 3 has 7 fields where the header has 6.*decimal comma",
        ),
        (f"01/06/2025,USD,2.5,{RID},eastus", r"line 3 has 5 fields where the header has 6"),
    ],
)
def test_a_row_with_more_or_fewer_fields_is_refused_with_its_line(tmp_path, row, match):
    path = write(tmp_path, [GOOD, row, GOOD])
    error = refused(path, match)
    assert error.path == "c.csv"


def test_an_unterminated_quote_in_the_middle_is_refused(tmp_path):
    # the quote swallows the rest of the file into one field: 10 rows instead of 11 otherwise
    rows = [GOOD] * 4 + [f'01/06/2025,USD,2.5,{RID},"eastus,Storage'] + [GOOD] * 6
    refused(
        write(tmp_path, rows), r"line 6 has \d+ fields where the header has 6.*unterminated quote"
    )


def test_a_truncated_last_line_is_refused_not_read_as_zero(tmp_path):
    path = write(tmp_path, [GOOD, "01/07/2025,USD,3.2,/subscriptions/x/resourceGr"], end="")
    refused(path, r"line 3 has 4 fields.*cut off by an interrupted download")


def test_a_truncated_gzip_is_refused(tmp_path):
    data = gzip.compress(("\n".join([HEADER, *[GOOD] * 2000]) + "\n").encode())
    path = tmp_path / "c.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    refused(path, "c.csv.gz")


def test_quoted_delimiters_and_newlines_are_values_not_fields(tmp_path):
    header = HEADER + ",AdditionalInfo"
    rows = [GOOD + ',"{""a"": 1, ""b"": 2}"', GOOD + ',"two\nlines, one value"', GOOD + ","]
    c = mf.read_cost_export(write(tmp_path, rows, header=header))
    assert c["cost"].tolist() == [1.5, 1.5, 1.5]


# --- 3: costs that are not finite numbers ----------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "NaN", "nan", "Infinity"])
def test_infinite_and_nan_costs_are_refused(tmp_path, value):
    path = write(tmp_path, [GOOD, f"01/06/2025,USD,{value},{RID},eastus,Storage"])
    refused(path, r"on data row 2 is .* not a finite amount")


@pytest.mark.parametrize("value", ["", "NULL", "  "])
def test_an_empty_cost_is_refused_not_zero(tmp_path, value):
    path = write(tmp_path, [GOOD, f"01/06/2025,USD,{value},{RID},eastus,Storage"])
    refused(path, r"CostInBillingCurrency is empty on data row 2.*unknown cost is not zero")


def test_a_frame_with_nan_or_inf_costs_is_refused():
    for bad in (float("nan"), float("inf")):
        raw = pd.DataFrame(
            {"ResourceId": [RID, RID], "Cost": [1.0, bad], "Date": ["2025-01-01"] * 2}
        )
        with pytest.raises(mf.CostExportError, match="data row 2"):
            mf.analysis.normalise_costs(raw)


# --- 4: columns that differ only in case -----------------------------------------------------


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("Date,cost,Cost,ResourceId", "'cost' and 'Cost'"),
        ("Date,Cost,resourceId,ResourceId", "'resourceId' and 'ResourceId'"),
        ("Date,Cost,ResourceId,ResourceId", "'ResourceId' and 'ResourceId'"),
    ],
)
def test_columns_that_differ_only_in_case_are_refused_naming_both(tmp_path, header, names):
    path = write(tmp_path, [f"01/01/2025,1,2,{RID}"], header=header)
    refused(path, f"has the columns {names}, which differ only in case")


def test_case_twins_of_columns_it_does_not_read_are_fine(tmp_path):
    path = write(tmp_path, [f"01/01/2025,1,{RID},a,b"], header="Date,Cost,ResourceId,Notes,notes")
    assert mf.read_cost_export(path)["cost"].tolist() == [1.0]


# --- 5: a folder holding both formats --------------------------------------------------------


def test_a_folder_with_both_formats_is_refused_unless_format_is_given(tmp_path):
    write(tmp_path, [GOOD], name="details.csv")
    write(tmp_path, [f"{RID},1.5,1.5,USD,2025-01-05T00:00:00Z"], name="focus.csv",
          header="ResourceId,BilledCost,EffectiveCost,BillingCurrency,ChargePeriodStart")  # fmt: skip
    refused(
        tmp_path,
        r"more than one kind of export \(cost details: details.csv; FOCUS: focus.csv\).*count them twice",
    )
    focus = mf.read_cost_export(tmp_path, format="focus")
    assert focus.attrs["format"] == "focus"
    assert focus.attrs["files"] == ["focus.csv"] and focus.attrs["skipped_files"] == ["details.csv"]
    details = mf.read_cost_export(tmp_path, format="cost-details")
    assert details["cost"].sum() == 1.5


# --- 6: dates ---------------------------------------------------------------------------------


def test_a_bad_date_names_its_own_value_and_row(tmp_path):
    path = write(tmp_path, [GOOD, GOOD, f"yesterday,USD,1,{RID},eastus,Storage"])
    refused(path, r"'yesterday' on data row 3")


def test_an_impossible_date_names_its_value_and_row(tmp_path):
    path = write(tmp_path, [GOOD, f"02/30/2025,USD,1,{RID},eastus,Storage"])
    refused(path, r"not a valid MM/DD/YYYY date on data row 2 \('02/30/2025'\)")


@pytest.mark.parametrize("value", ["", "NULL", "null"])
def test_an_empty_or_null_date_is_refused(tmp_path, value):
    path = write(tmp_path, [GOOD, f"{value},USD,1,{RID},eastus,Storage"])
    refused(path, r"Date is empty on data row 2")


def test_a_day_first_file_is_read_day_first_when_its_dates_say_so(tmp_path):
    rows = [f"{d},USD,1,{RID},eastus,Storage" for d in ("05/01/2025", "31/01/2025")]
    c = mf.read_cost_export(write(tmp_path, rows))
    assert c.attrs["date_order"] == "DD/MM/YYYY"
    assert c["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-05", "2025-01-31"]


def test_dates_impossible_in_both_orders_are_refused(tmp_path):
    rows = [f"{d},USD,1,{RID},eastus,Storage" for d in ("31/01/2025", "01/31/2025")]
    refused(write(tmp_path, rows), r"'31/01/2025' \(day first\) and '01/31/2025' \(month first\)")


def test_ambiguous_dates_follow_cost_management_unless_told(tmp_path):
    path = write(
        tmp_path, [f"{d},USD,1,{RID},eastus,Storage" for d in ("05/01/2025", "06/01/2025")]
    )
    assert mf.read_cost_export(path)["month"].tolist() == ["2025-05", "2025-06"]
    told = mf.read_cost_export(path, dayfirst=True)
    assert (
        told["month"].tolist() == ["2025-01", "2025-01"]
        and told.attrs["date_order"] == "DD/MM/YYYY"
    )
    refused(
        write(tmp_path, [f"13/01/2025,USD,1,{RID},e,S"], name="d.csv"),
        "not a valid MM/DD/YYYY",
        dayfirst=False,
    )


def test_date_format_reads_other_layouts(tmp_path):
    path = write(tmp_path, [f"2025.01.31,USD,1,{RID},eastus,Storage"])
    refused(path, "neither ISO 8601 nor MM/DD/YYYY")
    c = mf.read_cost_export(path, date_format="%Y.%m.%d")
    assert c["date"].iloc[0] == pd.Timestamp("2025-01-31", tz="UTC")


def test_a_time_zone_offset_bills_on_the_utc_day(tmp_path):
    header = "ResourceId,BilledCost,BillingCurrency,ChargePeriodStart"
    rows = [f"{RID},1,USD,2024-09-30T20:00-05:00", f"{RID},1,USD,2024-09-30 22:00:00"]
    c = mf.read_cost_export(write(tmp_path, rows, header=header))
    assert c["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-10-01", "2024-09-30"]


# --- 7: currency of a cost in US dollars ------------------------------------------------------


def test_cost_in_usd_is_in_usd_not_the_billing_currency(tmp_path):
    header = "Date,BillingCurrency,CostInBillingCurrency,CostInUsd,ResourceId"
    path = write(tmp_path, [f"01/05/2025,EUR,0.9,1.0,{RID}"], header=header)
    assert mf.read_cost_export(path)["currency"].tolist() == ["EUR"]
    usd = mf.read_cost_export(path, cost_column="CostInUsd")
    assert usd["currency"].tolist() == ["USD"] and usd["cost"].tolist() == [1.0]
    assert usd.attrs["currency_from"] == "USD"


def test_a_cost_in_the_pricing_currency_takes_the_pricing_currency(tmp_path):
    header = "Date,BillingCurrency,PricingCurrency,CostInBillingCurrency,CostInPricingCurrency,ResourceId"
    path = write(tmp_path, [f"01/05/2025,EUR,usd,0.9,1.0,{RID}"], header=header)
    c = mf.read_cost_export(path, cost_column="CostInPricingCurrency")
    assert c["currency"].tolist() == ["USD"]


# --- 11: errors that say what to do, and files that are not plain UTF-8 CSV -------------------


def test_a_missing_column_is_named_and_the_columns_found_listed(tmp_path):
    header = ",".join(["Date", "ResourceId", *[f"Col{i}" for i in range(40)]])
    path = write(tmp_path, ["01/01/2025,/x," + ",".join("v" * 40)], header=header)
    error = refused(
        path, r"no column for cost: one of CostInBillingCurrency, Cost, PreTaxCost, CostInUsd"
    )
    assert "its 42 columns: Date, ResourceId, Col0" in str(error) and "and 12 more" in str(error)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_are_read(tmp_path, encoding):
    text = "\n".join([HEADER, GOOD, f"01/06/2025,USD,2.25,{RID},Zürich,Storage"]) + "\n"
    path = tmp_path / "c.csv"
    path.write_bytes(text.encode(encoding))
    c = mf.read_cost_export(path)
    assert c["cost"].tolist() == [1.5, 2.25]
    assert c["resource_location_raw"].tolist() == ["eastus", "Zürich"]
    assert c["resource_location"].tolist() == ["eastus", "switzerlandnorth"]


def test_utf16_with_byte_order_mark_and_bom_bytes_are_not_in_the_header(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + ("\n".join([HEADER, GOOD]) + "\n").encode("utf-16-le"))
    assert mf.read_cost_export(path)["resource_id"].tolist() == [RID.lower()]


def test_a_semicolon_file_with_decimal_commas_is_read(tmp_path):
    header = HEADER.replace(",", ";")
    rows = [
        f"01/05/2025;EUR;0,75;{RID};westeurope;Storage",
        f"01/06/2025;EUR;12;{RID};westeurope;Storage",
    ]
    c = mf.read_cost_export(write(tmp_path, rows, header=header))
    assert c["cost"].tolist() == [0.75, 12.0]


def test_a_semicolon_file_with_a_thousands_separator_is_refused(tmp_path):
    header = HEADER.replace(",", ";")
    rows = [f"01/05/2025;EUR;1.234,5;{RID};westeurope;Storage"]
    refused(write(tmp_path, rows, header=header), "thousands separator or a decimal point")


def test_binary_and_latin1_files_say_what_they_are(tmp_path):
    (tmp_path / "x.csv").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    refused(tmp_path / "x.csv", "x.csv")
    (tmp_path / "l.csv").write_bytes(
        ("\n".join([HEADER, GOOD.replace("eastus", "Zürich")]) + "\n").encode("latin-1")
    )
    refused(tmp_path / "l.csv", "not UTF-8 or UTF-16 text")


def test_a_damaged_manifest_or_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    refused(tmp_path / "empty.csv", "is empty")
    header_only = write(tmp_path, [], name="h.csv")
    assert len(mf.read_cost_export(header_only)) == 0


@pytest.mark.parametrize("gz", [False, True])
def test_a_file_cut_inside_a_quoted_value_is_refused(tmp_path, gz):
    header = HEADER + ",AdditionalInfo"
    text = "\n".join([header, GOOD + ',"{""a"": 1}"', GOOD + ',"{""a"": 1'])
    path = tmp_path / ("c.csv.gz" if gz else "c.csv")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    refused(path, "ends inside a quoted value")
    whole = tmp_path / "whole.csv"
    whole.write_text(text + '}"', encoding="utf-8")  # no final newline, but complete
    assert len(mf.read_cost_export(whole)) == 2
