"""fetch_registries over real HTTP against the emulator: scopes, failures, archive, secrecy."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.errors import ArmError, FetchError
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.fetch import Scope

from .emulated import fetch_from, registry_ids, subscriptions_of


@pytest.fixture
def fleet() -> Iterator[ArmEmulator]:
    with ArmEmulator.from_fleet(30, 5, seed=3, page_size=3) as arm:
        yield arm


_subs, _ids, _fetch = subscriptions_of, registry_ids, fetch_from


def test_everything_the_identity_sees(fleet: ArmEmulator) -> None:
    tables = _fetch(fleet)
    tables.validate()
    assert set(tables.registries["registry_id"]) == _ids(fleet)
    assert tables.fetch_errors.empty
    assert list(tables.fetch_errors.columns) == list(schema.FETCH_ERRORS.column_names)
    offline = mf.flatten(fleet.registries)
    key = ["registry_id"]
    assert tables.registries.sort_values(key, ignore_index=True).equals(
        offline.registries.sort_values(key, ignore_index=True)
    )
    prov = tables.provenance
    assert prov["endpoint"] == fleet.endpoint and prov["api_version"] == "2025-09-01"
    assert sorted(prov["scopes"]) == [f"/subscriptions/{s}" for s in _subs(fleet)]
    assert prov["fetched_at"].endswith("Z")
    assert fleet.count("/subscriptions") == fleet.count()


def test_the_bundled_sample_skips_and_records_a_disabled_subscription() -> None:
    with ArmEmulator() as arm:
        tables = _fetch(arm)
    disabled = [s for s in arm.subscriptions if s["state"] in ("Disabled", "Deleted")]
    assert disabled, "the sample is expected to hold a Disabled subscription"
    errors = tables.fetch_errors
    assert set(errors["outcome"]) == {"skipped"}
    assert set(errors["subscription_id"]) == {s["subscriptionId"].lower() for s in disabled}
    assert errors["message"].str.contains("Disabled").all()
    assert not any(arm.count(s["subscriptionId"]) for s in disabled)
    assert set(tables.registries["registry_id"]) == _ids(arm) - {
        i for s in disabled for i in _ids(arm, s["subscriptionId"].lower())
    }


def test_given_subscriptions_and_a_resource_group(fleet: ArmEmulator) -> None:
    subs = _subs(fleet)
    tables = _fetch(fleet, [subs[0].upper(), subs[1], subs[0]])
    assert set(tables.registries["registry_id"]) == _ids(fleet, subs[0]) | _ids(fleet, subs[1])
    assert fleet.count("/subscriptions?") == 0 and fleet.count() >= 2
    reg = fleet.registries[0]
    sub, group = parse_arm_id(reg["id"])
    tables = _fetch(fleet, sub, group)
    assert set(tables.registries["registry_id"]) == _ids(fleet, sub, group)
    assert tables.provenance["scopes"] == [f"/subscriptions/{sub}/resourceGroups/{group}"]
    with pytest.raises(FetchError, match="subscription"):
        _fetch(fleet, None, "rg-only")


def test_403_on_one_of_several_subscriptions_loses_nothing_else(fleet: ArmEmulator) -> None:
    subs = _subs(fleet)
    fleet.add_fault(Fault("forbidden", match=subs[1]))
    tables = _fetch(fleet)
    assert set(tables.registries["registry_id"]) == _ids(fleet) - _ids(fleet, subs[1])
    row = tables.fetch_errors.iloc[0]
    assert len(tables.fetch_errors) == 1
    assert (row["scope"], row["subscription_id"], row["outcome"]) == (
        f"/subscriptions/{subs[1]}",
        subs[1],
        "failed",
    )
    assert (row["http_status"], row["error_code"]) == (403, "AuthorizationFailed")
    assert "Reader" in row["message"] and row["request_id"]
    tables.validate()


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault("malformed"), "JSONDecodeError"),
        (Fault("repeat_next_link", times=1), "PaginationError"),
        (Fault("foreign_next_link", times=1, url="http://127.0.0.2:1"), "InsecureEndpointError"),
        (Fault("error", status=500), "InternalServerError"),
        (Fault("throttle"), "TooManyRequests"),
        (Fault("drop"), "ConnectionError"),
    ],
)
def test_a_failing_scope_becomes_a_row(fleet: ArmEmulator, fault: Fault, code: str) -> None:
    victim = _subs(fleet)[2]
    fault.match = f"/subscriptions/{victim}/"
    fleet.add_fault(fault)
    tables = _fetch(fleet)
    errors = tables.fetch_errors
    assert errors["scope"].tolist() == [f"/subscriptions/{victim}"]
    assert errors["error_code"].tolist() == [code]
    others = _ids(fleet) - _ids(fleet, victim)
    assert others <= set(tables.registries["registry_id"]) <= _ids(fleet)
    tables.validate()


def test_pages_read_before_a_failure_are_kept(fleet: ArmEmulator) -> None:
    victim = _subs(fleet)[0]
    fleet.add_fault(Fault("repeat_next_link", match=f"{victim}/providers/", times=1))
    tables = _fetch(fleet)
    kept = set(tables.registries["registry_id"]) & _ids(fleet, victim)
    assert len(kept) == 3  # the first page (page_size=3), then the loop was caught
    assert "1 page(s) read before the failure are kept" in tables.fetch_errors["message"].iloc[0]


def test_an_empty_page_with_next_link_loses_nothing(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("empty_page"))
    tables = _fetch(fleet)
    assert set(tables.registries["registry_id"]) == _ids(fleet)
    assert tables.fetch_errors.empty


def test_throttling_and_5xx_are_survived(fleet: ArmEmulator) -> None:
    subs = _subs(fleet)
    fleet.add_fault(Fault("throttle", match=subs[0], times=2, retry_after="0"))
    fleet.add_fault(Fault("throttle", match=subs[1], times=1))
    fleet.add_fault(Fault("error", match=subs[2], times=2, status=503))
    tables = _fetch(fleet)
    assert set(tables.registries["registry_id"]) == _ids(fleet)
    assert tables.fetch_errors.empty


def test_every_scope_failing_raises(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("forbidden", match="/providers/"))
    with pytest.raises(FetchError, match="all 5 scopes failed"):
        _fetch(fleet)
    with pytest.raises(ArmError, match="Reader") as info:
        _fetch(fleet, _subs(fleet)[0])
    assert info.value.status == 403


def test_a_failing_subscription_list_raises(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("error", match="/subscriptions", status=500))
    with pytest.raises(ArmError) as info:
        _fetch(fleet)
    assert info.value.scope == "/subscriptions"


def test_no_subscriptions_gives_empty_tables() -> None:
    with ArmEmulator([]) as arm:
        tables = _fetch(arm)
    assert tables.counts() == dict.fromkeys(schema.ALL_TABLES, 0)


def test_raw_archive_rebuilds_the_same_tables(fleet: ArmEmulator, tmp_path: Path) -> None:
    victim = _subs(fleet)[4]
    fleet.add_fault(Fault("empty_page", match=_subs(fleet)[0]))
    fleet.add_fault(Fault("forbidden", match=victim))
    tables = _fetch(fleet, raw_dir=tmp_path / "raw")
    files = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert files[0] == "_subscriptions.json"
    assert all(name.startswith("sub-") and name.endswith(".json") for name in files[1:])
    pages = mf.read_pages(tmp_path / "raw")
    assert all(p.url and p.url.startswith(fleet.endpoint) for p in pages)
    listing = [p for p in pages if not isinstance(p, mf.pages.SubscriptionsPage)]
    assert all(p.fetched_at and p.api_version == "2025-09-01" for p in listing)
    rebuilt = mf.flatten(pages)
    for name, frame in tables.items(include_errors=True):
        if name != "fetch_errors":
            assert rebuilt[name].equals(frame), name


def test_concurrency_is_used() -> None:
    with ArmEmulator.from_fleet(16, 8, latency=0.05, pages_per_scope=2) as arm:
        tables = _fetch(arm, max_workers=8)
    assert len(tables.registries) == 16
    assert arm.max_in_flight >= 4


def test_an_interrupted_fetch_stops_its_scopes_after_the_page_in_flight() -> None:
    with ArmEmulator.from_fleet(40, 2, seed=1, page_size=1, latency=0.02) as arm:
        first = _subs(arm)[0]
        pages_of_first = len(_ids(arm, first))

        def interrupted() -> Iterator[str]:
            yield first
            time.sleep(0.1)  # the first scope is reading its pages meanwhile
            raise KeyboardInterrupt  # Ctrl-C in the main thread

        with pytest.raises(KeyboardInterrupt):
            _fetch(arm, interrupted())
        assert 0 < arm.count() < pages_of_first


def test_token_never_leaks(
    fleet: ArmEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "tok-9f8e7d6c5b4a"
    subs = _subs(fleet)
    fleet.token = secret
    for fault in (
        Fault("throttle", match=subs[0], times=1, retry_after="0"),
        Fault("forbidden", match=subs[1]),
        Fault("malformed", match=subs[2]),
        Fault("foreign_next_link", match=subs[3], url="http://127.0.0.2:1"),
        Fault("drop", match=subs[4]),
    ):
        fleet.add_fault(fault)
    caplog.set_level(logging.DEBUG)
    tables = _fetch(
        fleet,
        credential=StaticTokenCredential(secret),
        raw_dir=tmp_path / "raw",
        progress=True,
    )
    with pytest.raises(FetchError) as info:
        _fetch(fleet, subs[1], credential=StaticTokenCredential(secret))
    tables.to_parquet(tmp_path / "out")
    out, err = capsys.readouterr()
    assert "pages=" in err  # the progress bar ran
    texts = [
        caplog.text,
        out,
        err,
        repr(tables),
        str(tables.provenance),
        str(info.value),
        repr(info.value),
        tables.fetch_errors.to_csv(),
    ]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*.json")]
    texts += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*.parquet")]
    assert fleet.count() > 5 and any(r.authorization == f"Bearer {secret}" for r in fleet.requests)
    assert not [text for text in texts if secret in text]


def test_scope_paths() -> None:
    assert Scope(" ABC ").path == "/subscriptions/abc"
    assert Scope("abc", "My.RG(1)").slug == "sub-abc-rg-My.RG_1_"
    assert Scope("abc", "rg").list_path.endswith(
        "/resourceGroups/rg/providers/Microsoft.MachineLearningServices/registries"
    )


def test_fetch_errors_have_the_declared_dtypes(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("forbidden", match=_subs(fleet)[0]))
    errors = _fetch(fleet).fetch_errors
    assert dict(errors.dtypes) == schema.FETCH_ERRORS.dtypes
    assert isinstance(errors, pd.DataFrame) and errors["resource_group"].isna().all()


def test_deleted_and_disabled_subscriptions_are_skipped() -> None:
    from mlreg_frames.synth import generate_fleet, subscriptions

    fleet = generate_fleet(12, 3, seed=1)
    subs = subscriptions(fleet)
    subs[0]["state"], subs[1]["state"] = "Deleted", "Disabled"
    with ArmEmulator(fleet, subscriptions=subs) as arm:
        tables = _fetch(arm)
    live = subs[2]["subscriptionId"].lower()
    assert set(tables.registries["registry_id"]) == _ids(arm, live)
    errors = tables.fetch_errors.set_index("subscription_id")
    assert errors.loc[subs[0]["subscriptionId"].lower(), "outcome"] == "skipped"
    assert "Deleted" in errors.loc[subs[0]["subscriptionId"].lower(), "message"]
    assert len(errors) == 2 and errors["http_status"].isna().all()


def test_a_short_lived_token_is_refreshed_during_a_fetch(fleet: ArmEmulator) -> None:
    class Expiring:
        def __init__(self) -> None:
            self.calls = 0

        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            import time

            from mlreg_frames.sources.auth import AccessToken

            self.calls += 1
            return AccessToken(f"t{self.calls}", int(time.time() + 60))  # inside the margin

    cred = Expiring()
    tables = _fetch(fleet, credential=cred)
    assert len(tables.registries) == 30
    assert cred.calls == fleet.count() + 1 > 6  # one up-front check, then one per request
    assert len({r.authorization for r in fleet.requests}) == fleet.count()


def test_pages_walked_in_batches_give_exactly_flatten_of_the_archive(tmp_path: Path) -> None:
    from mlreg_frames.sources.fetch import FLATTEN_BATCH
    from mlreg_frames.synth import generate_fleet

    registries = generate_fleet(40, 2, seed=4)
    sub = parse_arm_id(registries[0]["id"])[0]
    again = [r for r in registries if parse_arm_id(r["id"])[0] == sub][:3]
    # ARM may repeat a registry on a later page (it changed while we paged): the last one wins
    registries += [{**r, "tags": {"seen": "again"}} for r in again]
    with ArmEmulator(registries, page_size=2) as arm:
        tables = _fetch(arm, raw_dir=tmp_path)
    pages_of_sub = len([p for p in tmp_path.iterdir() if p.name.startswith(f"sub-{sub}")])
    assert pages_of_sub > 2 * FLATTEN_BATCH  # several batches, the repeats in a later one
    rebuilt = mf.flatten(mf.read_pages(tmp_path))
    for name, frame in tables.items():
        assert rebuilt[name].equals(frame), name
    assert set(tables.tags.loc[tables.tags["key"] == "seen", "registry_id"]) == {
        r["id"].lower() for r in again
    }
    assert tables.provenance["inputs"] == len(list(tmp_path.glob("sub-*")))


def test_items_of_other_resource_types_in_a_list_are_skipped_with_one_warning() -> None:
    from mlreg_frames.errors import NotRegistriesWarning
    from mlreg_frames.synth import generate_fleet

    fleet = generate_fleet(6, 2, seed=5)
    workspace = {
        **fleet[0],
        "id": fleet[0]["id"].replace("/registries/", "/workspaces/") + "-ws",
        "type": "Microsoft.MachineLearningServices/workspaces",
    }
    with (
        ArmEmulator([*fleet, workspace], page_size=2) as arm,
        pytest.warns(NotRegistriesWarning, match="skipped 1 input item"),
    ):
        tables = _fetch(arm)
    assert len(tables.registries) == 6
    assert not tables.registries["registry_id"].str.contains("/workspaces/").any()
