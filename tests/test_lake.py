"""The Delta lake on local folders: layout, ledger, schema evolution, repair, optimize, CLI."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from mlreg_frames import LakeError, flatten, lake, schema
from mlreg_frames import errors as mf_errors
from mlreg_frames.cli import main
from mlreg_frames.lake import ledger as ledger_mod
from mlreg_frames.lake import write as lake_write
from mlreg_frames.synth import generate_fleet
from mlreg_frames.tables import RegistryTables

deltalake = pytest.importorskip(
    "deltalake", reason="the lake needs `pip install 'mlreg-frames[lake]'`"
)

REPO = Path(__file__).resolve().parent.parent
OLD_LAKE = REPO / "tests" / "data" / "lake-v1"


def fleet_tables(seed: int, n: int = 12) -> RegistryTables:
    return flatten(generate_fleet(n, 2, seed=seed), provenance={"source": f"seed {seed}"})


@pytest.fixture(scope="module")
def two_runs() -> tuple[RegistryTables, RegistryTables]:
    fleet = generate_fleet(15, 3, seed=4)
    later = copy.deepcopy(fleet[1:])
    later[0]["properties"]["publicNetworkAccess"] = "Disabled"
    later[1]["tags"] = {"owner": "ana"}
    return flatten(copy.deepcopy(fleet)), flatten(later)


def raw_rows(root: Path, table: str) -> pa.Table:
    """What a raw Delta reader of one table sees (no ledger)."""
    return deltalake.DeltaTable(str(root / table)).to_pyarrow_table()


def test_every_table_is_a_delta_table_and_round_trips(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    first = lake.append(old, root, "2025-06-01T12:00:00Z")
    second = lake.append(new, root, "2025-07-02T12:00:00+00:00")
    assert (first, second) == ("2025-06-01T120000.000000Z", "2025-07-02T120000.000000Z")

    for name in (*schema.ALL_TABLES, lake.LEDGER):
        assert deltalake.DeltaTable.is_deltatable(str(root / name)), name
    registries = deltalake.DeltaTable(str(root / "registries"))
    assert registries.metadata().partition_columns == ["month"]
    assert sorted(p.name for p in (root / "registries").glob("month=*")) == [
        "month=2025-06",
        "month=2025-07",
    ]
    raw = raw_rows(root, "registries")
    assert raw.column_names[:2] == ["snapshot", "month"]
    assert raw.num_rows == len(old.registries) + len(new.registries)
    ledger = raw_rows(root, lake.LEDGER).to_pandas()
    assert sorted(zip(ledger["snapshot"], ledger["state"], strict=True)) == [
        (first, "claimed"),
        (first, "committed"),
        (second, "claimed"),
        (second, "committed"),
    ]

    assert lake.read(root, first) == old
    assert lake.read(root) == new
    assert lake.read(root, "latest").provenance["snapshot"] == second
    assert lake.read(root, "2025-06") == old  # a unique prefix
    assert lake.read(root, -2) == old
    assert lake.read(root, pd.Timestamp("2025-07-02 14:00", tz="Europe/Paris")) == new


def test_read_all_snapshots_adds_a_snapshot_column(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    ids = [lake.append(old, root), lake.append(new, root)]
    history = lake.read(root, "all")
    assert isinstance(history, RegistryTables) and history.stacked
    history.validate()
    assert history.snapshot_ids == tuple(ids)
    assert list(history.registries.columns) == ["snapshot", *old.registries.columns]
    assert history.at(ids[0]) == old and history.at(ids[1]) == new
    assert history.counts_by_snapshot().loc[ids[1], "tags"] == len(new.tags)
    assert lake.read(root, [ids[1]]).snapshot_ids == (ids[1],)
    assert history.provenance["snapshots"][ids[0]]["snapshot"] == ids[0]


def test_snapshots_lists_rows_and_failed_scopes(tmp_path, two_runs):
    old, _ = two_runs
    errors = pd.DataFrame(
        {"scope": ["/subscriptions/a", "/subscriptions/b"], "outcome": ["failed", "skipped"]}
    )
    with_errors = RegistryTables.from_frames(
        {**dict(old.items()), "fetch_errors": errors}, allow_missing=True
    )
    root = tmp_path / "lake"
    with pytest.raises(LakeError, match="does not exist"):
        lake.snapshots(root)
    sid = lake.append(with_errors, root)
    listed = lake.snapshots(root)
    row = listed.iloc[0]
    assert row["snapshot"] == sid and row["snapshot_at"] == lake.parse_snapshot_id(sid)
    assert (row["failed_scopes"], row["skipped_scopes"], row["fetch_errors"]) == (1, 1, 2)
    assert row["registries"] == len(old.registries)
    assert str(listed["snapshot_at"].dtype) == "datetime64[us, UTC]"
    assert lake.read(root).fetch_errors["scope"].tolist() == [
        "/subscriptions/a",
        "/subscriptions/b",
    ]


def test_snapshot_ids_never_collide(tmp_path, two_runs, monkeypatch):
    old, _ = two_runs
    root = tmp_path / "lake"
    taken = lake.append(old, root, "2025-06-01T00:00:00Z")
    with pytest.raises(LakeError, match="already exists") as err:
        lake.append(old, root, "2025-06-01T00:00:00Z")
    assert err.value.snapshot == taken
    # the clock says the same microsecond: the automatic id moves on by one
    monkeypatch.setattr(ledger_mod, "now", lambda: lake.parse_snapshot_id(taken))
    assert lake.append(old, root) == "2025-06-01T000000.000001Z"
    assert lake.repair(root, older_than=timedelta(0), dry_run=True) == []
    assert lake.snapshots(root)["snapshot"].tolist() == [taken, "2025-06-01T000000.000001Z"]


def test_a_new_column_merges_and_older_snapshots_read_with_nulls(tmp_path, two_runs, monkeypatch):
    old, new = two_runs
    root = tmp_path / "lake"
    current = lake_write._table_arrow

    def older_schema(name, frame, sid):  # what a version without two columns wrote
        arrow = current(name, frame, sid)
        return (
            arrow.drop_columns(["region_count", "sku_capacity"]) if name == "registries" else arrow
        )

    monkeypatch.setattr(lake_write, "_table_arrow", older_schema)
    first = lake.append(old, root)
    monkeypatch.setattr(lake_write, "_table_arrow", current)
    second = lake.append(new, root)  # today's schema: the two columns merge into the table

    columns = deltalake.DeltaTable(str(root / "registries")).schema().to_arrow().names
    assert {"region_count", "sku_capacity"} <= set(columns)
    back = lake.read(root, first)
    assert back.registries["region_count"].isna().all()
    assert back.registries["sku_capacity"].isna().all()
    same = [c for c in old.registries.columns if c not in ("region_count", "sku_capacity")]
    assert back.registries[same].equals(old.registries[same])
    assert lake.read(root, second) == new

    def newer_schema(name, frame, sid):  # a later version adds a column this one ignores
        arrow = current(name, frame, sid)
        return arrow.append_column("from_the_future", arrow.column("snapshot"))

    monkeypatch.setattr(lake_write, "_table_arrow", newer_schema)
    third = lake.append(new, root)
    assert "from_the_future" not in lake.read(root, third).registries
    assert lake.read(root, third) == new
    lake.read(root, "all").validate()


@pytest.mark.parametrize(
    ("selector", "message"),
    [("latest", "no committed snapshot"), ("1999-01-01", "no snapshot as of 1999-01-01")],
)
def test_read_errors_say_what_to_do(tmp_path, two_runs, selector, message, monkeypatch):
    root = tmp_path / "lake"
    if selector == "latest":  # a lake whose only writer failed
        monkeypatch.setattr(lake_write, "_commit", _fail)
        with pytest.raises(RuntimeError):
            lake.append(two_runs[0], root)
    else:
        lake.append(two_runs[0], root)
    with pytest.raises(LakeError, match=message):
        lake.read(root, selector)


def _fail(*args, **kwargs):
    raise RuntimeError("the commit failed")


def test_a_failed_append_aborts_and_deletes_its_rows(tmp_path, two_runs, monkeypatch):
    old, new = two_runs
    root = tmp_path / "lake"
    kept = lake.append(old, root)
    monkeypatch.setattr(lake_write, "_commit", _fail)
    with pytest.raises(RuntimeError):
        lake.append(new, root)
    ledger = raw_rows(root, lake.LEDGER).to_pandas()
    assert sorted(ledger["state"]) == ["aborted", "claimed", "claimed", "committed"]
    for name in schema.ALL_TABLES:  # raw readers see only the committed snapshot again
        assert set(raw_rows(root, name).column("snapshot").to_pylist()) <= {kept}
    assert lake.read(root, "all").snapshot_ids == (kept,)
    assert lake.repair(root, older_than=timedelta(0)) == []


def test_a_table_changed_outside_is_reported_not_read(tmp_path, two_runs):
    root = tmp_path / "lake"
    sid = lake.append(two_runs[0], root)
    deltalake.DeltaTable(str(root / "tags")).delete("key = 'owner'")
    with pytest.raises(LakeError, match=f"snapshot {sid}: table tags holds .* ledger says"):
        lake.read(root)


def test_not_a_lake_an_old_lake_and_a_corrupt_one_are_lake_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LakeError, match="is not a lake"):
        lake.read(tmp_path / "empty")
    with pytest.raises(LakeError, match=r"old marker format.*lake migrate"):
        lake.snapshots(OLD_LAKE)
    log = tmp_path / "bad" / "snapshots" / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json").write_text("garbage")
    with pytest.raises(LakeError, match="opening table snapshots failed"):
        lake.snapshots(tmp_path / "bad")
    with pytest.raises(LakeError, match="root is empty"):
        lake.read("")


def test_repair_deletes_an_uncommitted_snapshot_and_never_committed_data(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    kept = lake.append(old, root)
    # a writer killed after writing two tables: claimed, rows in registries and regions
    store = lake_write.LakeStore(root)
    orphan = lake_write._claim(store, "2099-01-01T000000.000000Z", "dead", explicit=True)
    for name in ("registries", "regions"):
        lake_write._write_table(
            store, name, lake_write._table_arrow(name, new[name], orphan), orphan
        )
    assert lake.read(root, "all").snapshot_ids == (kept,)
    assert raw_rows(root, "registries").num_rows == len(old.registries) + len(new.registries)

    assert lake.repair(root) == []  # the claim is younger than an hour: a writer at work
    assert lake.repair(root, older_than=timedelta(0), dry_run=True) == [orphan]
    assert lake.vacuum(root, older_than=timedelta(0)) == [f"snapshot {orphan}"]
    assert raw_rows(root, "registries").num_rows == len(old.registries)
    assert lake.read(root) == old
    assert lake.repair(root, older_than=timedelta(0)) == []
    # the writer, had it survived, cannot commit any more
    with pytest.raises(LakeError, match="aborted before the commit"):
        lake_write._commit(store, orphan, "dead", {})


def test_optimize_compacts_and_vacuum_keeps_a_safe_retention(tmp_path):
    root = tmp_path / "lake"
    for day in range(1, 6):
        lake.append(fleet_tables(day, 4), root, f"2025-06-{day:02d}T06:00:00Z")
    before = lake.read(root, "all")
    done = lake.optimize(root).set_index("table")
    assert done.loc["registries", "files_before"] == 5
    assert done.loc["registries", "files_after"] == 1
    assert lake.read(root, "all") == before
    assert lake.vacuum(root, dry_run=True) == []  # the replaced files are younger than 7 days
    with pytest.raises(LakeError, match="safe minimum of 7 days"):
        lake.vacuum(root, retention=timedelta(hours=1))
    with pytest.raises(LakeError, match="older_than must be"):
        lake.repair(root, older_than=timedelta(days=-1))
    # time travel to the version before the optimize still works
    table = deltalake.DeltaTable(str(root / "registries"))
    table.load_as_version(table.version() - 1)
    assert len(table.file_uris()) == 5


def test_every_reader_agrees_with_lake_read(tmp_path, two_runs):
    polars = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    old, new = two_runs
    root = tmp_path / "lake"
    lake.append(old, root, "2025-06-01T00:00:00Z")
    lake.append(new, root, "2025-07-01T00:00:00Z")
    # an uncommitted snapshot's rows, as a killed writer leaves them
    store = lake_write.LakeStore(root)
    orphan = lake_write._claim(store, "2025-07-02T000000.000000Z", "dead", explicit=True)
    lake_write._write_table(
        store, "tags", lake_write._table_arrow("tags", new.tags, orphan), orphan
    )

    history = lake.read(root, "all")
    committed = (
        polars.read_delta(str(root / lake.LEDGER))
        .filter(polars.col("state") == "committed")
        .select("snapshot")
    )
    ids = committed["snapshot"].to_list()
    con = duckdb.connect()
    con.register("ledger", deltalake.DeltaTable(str(root / lake.LEDGER)).to_pyarrow_dataset())
    for name, ours in history.items(include_errors=True):
        keys = ["snapshot", *schema.ALL_TABLES[name].key]
        expected = ours.sort_values(keys).reset_index(drop=True)
        con.register("rows", deltalake.DeltaTable(str(root / name)).to_pyarrow_dataset())
        readers = {
            "deltalake": deltalake.DeltaTable(str(root / name)).to_pyarrow_table(
                filters=[("snapshot", "in", ids)]
            ),
            "polars": polars.read_delta(str(root / name))
            .join(committed, on="snapshot", how="semi")
            .to_arrow(),
            "duckdb": con.sql(
                "SELECT * FROM rows WHERE snapshot IN "
                "(SELECT snapshot FROM ledger WHERE state = 'committed')"
            ).to_arrow_table(),
        }
        for reader, arrow in readers.items():
            theirs = _as_ours(name, arrow).sort_values(keys).reset_index(drop=True)
            pd.testing.assert_frame_equal(theirs, expected, obj=f"{name} via {reader}")
    # pandas through lake.read is `history` itself; a raw reader without the ledger sees more
    assert raw_rows(root, "tags").num_rows == len(history.tags) + len(new.tags)


def _as_ours(name: str, arrow: pa.Table) -> pd.DataFrame:
    from mlreg_frames.tables import from_arrow

    arrow = arrow.drop_columns(["month"])
    snapshot = arrow.column("snapshot").to_pylist()
    frame = from_arrow(name, arrow.drop_columns(["snapshot"]))
    frame.insert(0, "snapshot", pd.Series(snapshot, dtype=schema.pandas_dtype("string")))
    return frame


def test_migrate_an_old_format_lake(tmp_path):
    old_copy = tmp_path / "old"
    import shutil

    shutil.copytree(OLD_LAKE, old_copy)
    new = tmp_path / "new"
    first, second = "2025-06-01T060000.000000Z", "2025-06-02T060000.000000Z"
    with pytest.raises(LakeError, match="old marker format"):
        lake.read(old_copy)
    assert lake.migrate(old_copy, new) == [first, second]
    # migration copies values as they were stored: the old lake's writer kept ARM's empty
    # `kind` ("") where flatten now gives null, so compare with that one difference undone
    for sid, fleet in (
        (first, generate_fleet(6, 2, seed=31)),
        (second, generate_fleet(5, 2, seed=32)),
    ):
        migrated = lake.read(new, sid)
        kinds = migrated.registries["kind"]
        migrated.registries["kind"] = kinds.mask(kinds == "")
        assert migrated == flatten(fleet)
    # the crashed writer's partition of the old lake (2025-06-03) stays behind
    assert lake.snapshots(new)["snapshot"].tolist() == [first, second]
    assert lake.migrate(old_copy, new) == []  # already there: run again safely
    marker = old_copy / "_snapshots" / f"{first}.json"
    body = json.loads(marker.read_text())
    body["tables"]["tags"]["files"] = ["tags/../../outside.parquet"]
    marker.write_text(json.dumps(body))
    with pytest.raises(LakeError, match="outside its table folder"):
        lake.migrate(old_copy, tmp_path / "newer")
    (old_copy / "_snapshots" / "README.json").write_text("{}")
    with pytest.raises(LakeError, match="not a commit marker"):
        lake.migrate(old_copy, tmp_path / "newer")


def test_cli_snapshots_diff_vacuum_and_lake_commands(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    runner = CliRunner()
    missing = runner.invoke(main, ["snapshots", str(root)])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    migrated = runner.invoke(main, ["lake", "migrate", str(OLD_LAKE), str(root)])
    assert migrated.exit_code == 0, migrated.output
    assert "copied 2 snapshots" in migrated.output
    first = lake.append(old, root)
    second = lake.append(new, root)

    listed = runner.invoke(main, ["snapshots", str(root)])
    assert listed.exit_code == 0 and first in listed.output and second in listed.output
    assert max(len(line) for line in listed.output.splitlines()) <= 100
    assert "--wide" in listed.output
    wide = runner.invoke(main, ["snapshots", str(root), "--wide"])
    assert "committed_at" in wide.output and "pe_connections" in wide.output
    as_json = json.loads(runner.invoke(main, ["snapshots", str(root), "--json"]).output)
    assert [r["snapshot"] for r in as_json][-2:] == [first, second]

    out = tmp_path / "changes.csv"
    shown = runner.invoke(main, ["diff", str(root), "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert f"from {first} to {second}" in shown.output
    assert "public_network_access" in shown.output
    assert len(pd.read_csv(out)) == len(lake.diff_snapshots(root))

    optimized = runner.invoke(main, ["lake", "optimize", str(root)])
    assert optimized.exit_code == 0 and "registries" in optimized.output
    repaired = runner.invoke(main, ["lake", "repair", str(root), "--older-than", "0"])
    assert "rows of 0 uncommitted snapshots" in repaired.output
    vacuumed = runner.invoke(main, ["vacuum", str(root), "--dry-run"])
    assert vacuumed.exit_code == 0 and "would remove 0 items" in vacuumed.output

    for bad in (
        ["vacuum", str(root), "--older-than", "nan"],
        ["vacuum", str(root), "--older-than", "-1"],
        ["vacuum", str(root), "--retention-days", "1"],
        ["snapshots", str(root), "-o", "novalue"],
    ):
        result = runner.invoke(main, bad)
        assert result.exit_code == 2 and "Traceback" not in result.output, bad
    (tmp_path / "corrupt" / "snapshots" / "_delta_log").mkdir(parents=True)
    (tmp_path / "corrupt" / "snapshots" / "_delta_log" / "00000000000000000000.json").write_text(
        "{"
    )
    for bad in (
        ["snapshots", str(tmp_path / "nowhere")],
        ["vacuum", str(tmp_path / "nowhere")],
        ["diff", str(tmp_path / "corrupt")],
        ["snapshots", str(tmp_path / "corrupt")],
        ["lake", "optimize", str(OLD_LAKE)],
        ["lake", "migrate", str(tmp_path / "nowhere"), str(tmp_path / "x")],
    ):
        result = runner.invoke(main, bad)
        assert result.exit_code == 1, (bad, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("Error: ") and "Traceback" not in result.output


def test_storage_options_are_translated_for_delta_rs():
    from azure.core.credentials import AccessToken

    from mlreg_frames.cli.lake_cmd import parse_storage_options
    from mlreg_frames.lake.store import delta_options

    class Credential:
        def get_token(self, *scopes, **kwargs):
            assert scopes == ("https://storage.azure.com/.default",)
            return AccessToken("eyJ0b2tlbg", 2**31)

    assert delta_options(
        {
            "connection_string": "DefaultEndpointsProtocol=http;AccountName=acct;"
            "SharedAccessSignature=sv=1&sig=x;BlobEndpoint=http://127.0.0.1:1/acct",
            "credential": Credential(),
            "anon": False,
            "timeout": 30,
        }
    ) == {
        "account_name": "acct",
        "sas_token": "sv=1&sig=x",
        "endpoint": "http://127.0.0.1:1/acct",
        "allow_http": "true",
        "bearer_token": "eyJ0b2tlbg",
        "timeout": "30",
    }
    with pytest.raises(LakeError, match="azure-identity credential"):
        delta_options({"credential": "not a credential"})
    from azure.identity import DefaultAzureCredential

    parsed = parse_storage_options(("credential=azure", "allow_http=true"))
    assert isinstance(parsed["credential"], DefaultAzureCredential) and parsed["allow_http"] is True
    assert delta_options({"allow_http": parsed["allow_http"]}) == {"allow_http": "true"}


def test_repair_refuses_ids_that_are_not_snapshot_ids(tmp_path, two_runs):
    root = tmp_path / "lake"
    lake.append(two_runs[0], root)
    store = lake_write.LakeStore(root)
    with pytest.raises(LakeError, match="not a snapshot id"):
        lake_write._delete_rows(store, ["2025-01-01T000000.000000Z') OR (1=1"])
    assert lake.read(root) == two_runs[0]


@pytest.mark.parametrize("name", ["a%20b", "x%41y", "pct%2fslash"])
def test_a_folder_path_deltalake_would_read_decoded_is_refused_before_writing(
    tmp_path, two_runs, name, monkeypatch
):
    root = tmp_path / name
    with pytest.raises(LakeError, match="percent escape"):
        lake.append(two_runs[0], root)
    assert not root.exists() and list(tmp_path.iterdir()) == []  # nothing written anywhere
    with pytest.raises(LakeError, match="percent escape"):
        lake.snapshots(root)
    monkeypatch.chdir(tmp_path)  # a relative root under such a folder is refused too
    (tmp_path / "in%20here").mkdir()
    monkeypatch.chdir(tmp_path / "in%20here")
    with pytest.raises(LakeError, match="percent escape"):
        lake.append(two_runs[0], "lake")


def test_spaces_and_a_lone_percent_sign_in_the_folder_path_are_fine(tmp_path, two_runs):
    root = tmp_path / "100% lake #1?"
    first = lake.append(two_runs[0], root)
    lake.append(two_runs[1], root)
    lake.optimize(root)
    assert lake.snapshots(root)["snapshot"].tolist()[0] == first
    assert lake.read(root, first).registries.equals(two_runs[0].registries)
    assert lake.read(root).registries.equals(two_runs[1].registries)
    assert not lake.diff_snapshots(root).empty


def test_arguments_in_the_wrong_order_or_of_the_wrong_type_are_clear(tmp_path, two_runs):
    with pytest.raises(mf_errors.InvalidArgumentError, match=r"tables come first"):
        lake.append(tmp_path / "lake", two_runs[0])  # type: ignore[arg-type]
    with pytest.raises(mf_errors.InvalidArgumentError, match="got RegistryTables"):
        lake.read(two_runs[0])  # type: ignore[arg-type]
    with pytest.raises(mf_errors.InvalidArgumentError, match="got NoneType"):
        lake.append(None, tmp_path / "lake")  # type: ignore[arg-type]
    assert not (tmp_path / "lake").exists()


def test_cli_refuses_a_percent_escape_in_the_lake_path_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["snapshots", str(tmp_path / "a%20b")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "percent escape" in lines[0], result.output
    assert "Traceback" not in result.output
