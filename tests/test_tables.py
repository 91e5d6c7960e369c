"""RegistryTables: Parquet round trip, atomic writes, validation, selection."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames import tables as tables_mod

from .helpers import DATA

QUIRKS = sorted((DATA / "quirks").glob("*.json*"))


@pytest.fixture(scope="module")
def quirky() -> mf.RegistryTables:
    return mf.flatten(mf.read_pages([p for p in QUIRKS if p.name != "expected.json"]))


def test_round_trip_is_exact(quirky: mf.RegistryTables, tmp_path: Path) -> None:
    quirky.to_parquet(tmp_path)
    back = mf.read_parquet(tmp_path)
    for name, frame in quirky.items(include_errors=True):
        pd.testing.assert_frame_equal(back[name], frame)
    assert back == quirky


def test_empty_round_trip_keeps_dtypes(tmp_path: Path) -> None:
    mf.flatten([]).to_parquet(tmp_path)
    back = mf.read_parquet(tmp_path)
    for name in schema.ALL_TABLES:
        pd.testing.assert_frame_equal(back[name], schema.empty_frame(name))


def test_parquet_carries_schema_and_provenance(quirky: mf.RegistryTables, tmp_path: Path) -> None:
    quirky.provenance["source"] = "unit-test"
    quirky.to_parquet(tmp_path)
    for name in schema.ALL_TABLES:
        file_schema = pq.read_schema(tmp_path / f"{name}.parquet")
        assert file_schema.remove_metadata() == schema.arrow_schema(name)
        meta = tables_mod.read_metadata(tmp_path / f"{name}.parquet")
        assert meta["table"] == name and meta["provenance"]["source"] == "unit-test"


def test_failed_write_leaves_previous_file_whole(
    quirky: mf.RegistryTables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quirky.to_parquet(tmp_path)
    before = (tmp_path / "registries.parquet").read_bytes()

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", explode)
    with pytest.raises(OSError, match="disk full"):
        quirky.to_parquet(tmp_path)
    assert (tmp_path / "registries.parquet").read_bytes() == before
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_older_schema_file_reads_with_nulls(quirky: mf.RegistryTables, tmp_path: Path) -> None:
    quirky.to_parquet(tmp_path)
    arrow = pq.read_table(tmp_path / "registries.parquet").drop_columns(["region_count"])
    pq.write_table(arrow, tmp_path / "registries.parquet")
    back = mf.read_parquet(tmp_path)
    assert back.registries["region_count"].isna().all()
    assert back.registries["region_count"].dtype == pd.Int64Dtype()


def test_read_parquet_errors(tmp_path: Path) -> None:
    with pytest.raises(mf.SchemaError, match="not a folder"):
        mf.read_parquet(tmp_path / "missing")
    with pytest.raises(mf.SchemaError, match="no mlreg_frames Parquet"):
        mf.read_parquet(tmp_path)


def test_validate_catches_orphans_dupes_and_dtypes(quirky: mf.RegistryTables) -> None:
    quirky.validate()
    orphan = mf.RegistryTables(**{**dict(quirky.items()), "registries": quirky.registries.iloc[1:]})
    with pytest.raises(mf.SchemaError, match="not in `registries`"):
        orphan.validate()
    dupes = mf.RegistryTables(
        **{**dict(quirky.items()), "tags": pd.concat([quirky.tags, quirky.tags.iloc[:1]])}
    )
    with pytest.raises(mf.SchemaError, match="repeats its key"):
        dupes.validate()
    wrong = quirky.registries.astype({"sku_capacity": "float64"})
    with pytest.raises(mf.SchemaError, match="sku_capacity"):
        mf.RegistryTables(**{**dict(quirky.items()), "registries": wrong}).validate()


def test_from_frames_conforms_and_rejects_unknown(quirky: mf.RegistryTables) -> None:
    frames = {"registries": quirky.registries.astype({"name": object})}
    built = mf.RegistryTables.from_frames(frames)
    assert built.registries["name"].dtype == schema.pandas_dtype("string")
    with pytest.raises(mf.SchemaError, match="unknown tables"):
        mf.RegistryTables.from_frames({"nope": pd.DataFrame()})
    with pytest.raises(mf.SchemaError, match="does not declare"):
        mf.RegistryTables.from_frames({"tags": quirky.tags.assign(bogus=1)})


def test_select_keeps_only_chosen_registries(quirky: mf.RegistryTables) -> None:
    rid = quirky.registries["registry_id"].iloc[0]
    one = quirky.select([rid.upper()]).validate()
    assert one.registries["registry_id"].tolist() == [rid]
    for _, frame in one.items():
        assert set(frame["registry_id"]) <= {rid}


def test_repr_html_summarises(quirky: mf.RegistryTables) -> None:
    text = quirky._repr_html_()
    assert f"{len(quirky.registries)} registries" in text
    assert "pe_connections" in text
    assert "RegistryTables(registries=" in repr(quirky)


def test_to_arrow_rejects_frames_that_do_not_fit() -> None:
    bad = schema.empty_frame("tags").assign(extra_col=pd.Series([], dtype="string"))
    with pytest.raises(mf.SchemaError):
        tables_mod.to_arrow("tags", bad)
    assert isinstance(tables_mod.to_arrow("tags", schema.empty_frame("tags")), pa.Table)


def test_stacked_snapshots_validate_round_trip_and_split(
    quirky: mf.RegistryTables, tmp_path: Path
) -> None:
    frames = {}
    for name, frame in quirky.items(include_errors=True):
        both = pd.concat(
            [frame.assign(snapshot="s1"), frame.assign(snapshot="s2")], ignore_index=True
        )
        frames[name] = both[["snapshot", *frame.columns]]
    stacked = mf.RegistryTables.from_frames(frames).validate()  # same keys in two snapshots: fine
    assert stacked.stacked and stacked.snapshot_ids == ("s1", "s2")
    assert stacked.at("s2") == quirky
    assert stacked.counts_by_snapshot().loc["s1", "tags"] == len(quirky.tags)
    stacked.to_parquet(tmp_path)
    assert mf.read_parquet(tmp_path) == stacked
    with pytest.raises(mf.SchemaError, match="not among"):
        stacked.at("s3")
    with pytest.raises(mf.SchemaError, match="lacks the `snapshot` column"):
        mf.RegistryTables.from_frames({**frames, "tags": quirky.tags})
