"""The fetch's walker thread: one thread walks every scope's pages, a bounded queue feeds it,
a refused payload leaves its whole scope out, and a stopped fetch never waits on it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.emulator import ArmEmulator
from mlreg_frames.flatten import engine, frames, parse_arm_id
from mlreg_frames.flatten.gather import Gatherer
from mlreg_frames.pages import Page
from mlreg_frames.sources import walker as walker_module
from mlreg_frames.sources.fetch import FLATTEN_BATCH
from mlreg_frames.sources.walker import PageWalker, ScopeResult
from mlreg_frames.synth import generate_fleet

from .emulated import fetch_from

_fetch = fetch_from
LIST = "providers/Microsoft.MachineLearningServices/registries"


def _page(name: str) -> list[tuple[str, Page]]:
    """A batch of one page holding one registry (an empty page is only counted, not walked)."""
    registry = {"id": f"/subscriptions/s/resourceGroups/g/{LIST}/{name}", "name": name}
    return [(name, Page({"value": [registry]}, source=name))]


def _held_walk(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the walk wait at a gate; returns (entered: a walk is waiting, gate: let it go)."""
    entered, gate = threading.Event(), threading.Event()
    walk = engine._flatten_chunk

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        gate.wait(10)
        return walk(*args, **kwargs)

    monkeypatch.setattr(walker_module.engine, "_flatten_chunk", held)
    return entered, gate


def test_every_batch_is_walked_on_the_one_walker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    walk = engine._flatten_chunk

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.current_thread().name)
        return walk(*args, **kwargs)

    monkeypatch.setattr(walker_module.engine, "_flatten_chunk", recording)
    with ArmEmulator.from_fleet(40, 8, seed=5, page_size=2, latency=0.005) as arm:
        tables = _fetch(arm, max_workers=8)
        assert len(tables.registries) == 40
    assert threads == {"mlreg-walk"}


def test_a_payload_refused_in_a_later_batch_leaves_the_whole_scope_out() -> None:
    registries = generate_fleet(60, 3, seed=7)
    victim = parse_arm_id(registries[0]["id"])[0]
    own = [i for i, r in enumerate(registries) if parse_arm_id(r["id"])[0] == victim]
    assert len(own) > 2 * FLATTEN_BATCH  # with one registry a page: batches walk before it
    last = own[-1]
    registries[last] = {**registries[last], "properties": {"regionDetails": "not a list"}}
    with ArmEmulator(registries, page_size=1) as arm:
        tables = _fetch(arm, max_workers=4)
    errors = tables.fetch_errors
    assert errors["scope"].tolist() == [f"/subscriptions/{victim}"]
    assert errors["error_code"].tolist() == ["FlattenError"]
    assert "left out" in errors["message"].iloc[0]
    kept = set(tables.registries["registry_id"])
    assert not {r["id"].lower() for i, r in enumerate(registries) if i in own} & kept
    others = {r["id"].lower() for i, r in enumerate(registries) if i not in own}
    assert kept == others
    for name in ("regions", "storage", "acr", "identities", "pe_connections", "tags"):
        assert set(tables[name]["registry_id"]) <= others, name


def test_a_full_queue_holds_the_worker_back_until_the_walker_takes_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entered, gate = _held_walk(monkeypatch)
    walker = PageWalker(capacity=1, stop=threading.Event())
    result = ScopeResult()
    walker.submit(_page("a"), result)
    assert entered.wait(5)  # taken by the walker, which now waits at the gate
    walker.submit(_page("b"), result)  # fills the queue
    third = threading.Thread(target=walker.submit, args=(_page("c"), result))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # the worker waits: pages do not pile up
    assert result.handed == 2
    gate.set()
    third.join(5)
    assert not third.is_alive()
    walker.close()
    assert [name for name, _ in result.parts] == ["a", "b", "c"]
    assert result.handed == 3 and result.left_out is None


def test_a_stopped_fetch_never_waits_on_a_full_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    entered, gate = _held_walk(monkeypatch)
    stop = threading.Event()
    walker = PageWalker(capacity=1, stop=stop)
    result = ScopeResult()
    walker.submit(_page("a"), result)
    assert entered.wait(5)
    walker.submit(_page("b"), result)
    blocked = threading.Thread(target=walker.submit, args=(_page("c"), result))
    blocked.start()
    stop.set()
    blocked.join(2)
    assert not blocked.is_alive()  # it gave up the batch: the fetch is abandoned
    gate.set()
    started = time.monotonic()
    walker.close()
    assert time.monotonic() - started < 5
    assert [name for name, _ in result.parts] == ["a"]  # the one taken before the stop
    walker.submit(_page("d"), result)  # after the stop: dropped at once
    assert result.handed == 2


def test_batches_of_a_scope_already_left_out_are_not_handed_over() -> None:
    walker = PageWalker(capacity=4, stop=threading.Event())
    result = ScopeResult()
    bad = [("x", Page({"value": "not a list"}, source="x"))]
    walker.submit(bad, result)
    walker.close()
    assert isinstance(result.left_out, mf.FlattenError)
    walker = PageWalker(capacity=4, stop=threading.Event())
    walker.submit(_page("y"), result)
    walker.close()
    assert result.parts == [] and result.handed == 1


def test_the_progress_bar_counts_a_scope_left_out_by_the_walker_as_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlreg_frames.emulator import Fault

    registries = generate_fleet(30, 3, seed=7)
    subs = sorted({parse_arm_id(r["id"])[0] or "" for r in registries})
    refused = next(i for i, r in enumerate(registries) if parse_arm_id(r["id"])[0] == subs[0])
    registries[refused] = {**registries[refused], "properties": {"regionDetails": "no"}}
    with ArmEmulator(registries, page_size=2) as arm:
        arm.add_fault(Fault("forbidden", match=f"/subscriptions/{subs[1]}/"))
        tables = _fetch(arm, progress=True)
    assert sorted(tables.fetch_errors["error_code"]) == ["AuthorizationFailed", "FlattenError"]
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "failed=2" in last, last


def test_empty_batches_are_counted_never_walked_nor_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[int] = []
    walk = engine._flatten_chunk

    def recording(items: Any, *args: Any, **kwargs: Any) -> Any:
        walks.append(len(items))
        return walk(items, *args, **kwargs)

    monkeypatch.setattr(walker_module.engine, "_flatten_chunk", recording)
    subs = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(300)]
    entries = [{"subscriptionId": s, "state": "Enabled", "id": f"/subscriptions/{s}"} for s in subs]
    registries = generate_fleet(6, 2, seed=4)
    with ArmEmulator(registries, subscriptions=entries + _listed(registries)) as arm:
        tables = _fetch(arm)
    assert tables.fetch_errors.empty
    assert set(tables.registries["registry_id"]) == {r["id"].lower() for r in registries}
    assert len(walks) == 2  # the two subscriptions with registries; 300 empty ones counted
    assert tables.provenance["inputs"] == 302
    assert tables.provenance["api_versions"] == ["2025-09-01"]


def _listed(registries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    subs = sorted({parse_arm_id(r["id"])[0] or "" for r in registries})
    return [{"subscriptionId": s, "state": "Enabled", "id": f"/subscriptions/{s}"} for s in subs]


def test_scopes_merged_as_they_finish_equal_one_ordered_flatten() -> None:
    fleet = generate_fleet(40, 4, seed=9)
    pages = [Page({"value": fleet[i : i + 5]}, source=f"p{i:03d}") for i in range(0, 40, 5)]
    pages.insert(3, Page({"value": [fleet[0], fleet[12]]}, source="p012a"))  # seen twice
    pages.append(Page({"value": []}, source="p999"))
    expected = mf.flatten(sorted(pages, key=lambda page: page.source))
    gatherer = Gatherer(compact_every=2)
    for page in reversed(pages):  # any order of arrival
        gatherer.add(page.source, engine._flatten_chunk([page], 0))
    arrows, inputs, _, _ = gatherer.result()
    assert inputs == len(pages)
    tables = frames.to_tables(arrows, {})
    for name in schema.TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(tables, name), getattr(expected, name), obj=name)


def test_at_most_a_window_of_scopes_is_submitted_and_uncollected() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from mlreg_frames.sources.dispatch import Dispatcher

    gate = threading.Event()

    def read(scope: int) -> ScopeResult:
        gate.wait(10)
        return ScopeResult(pages=1, empty_pages=1, handed=scope % 2)

    with ThreadPoolExecutor(2) as pool:
        runner = Dispatcher(pool, read, window=3, on_done=lambda future: None)
        feeder = threading.Thread(target=lambda: [runner.submit(i) for i in range(10)])
        feeder.start()
        feeder.join(0.3)
        assert feeder.is_alive() and len(runner.scopes) == 3  # the listing waits for a slot
        gate.set()
        feeder.join(5)
        runner.drain()
    assert runner.scopes == list(range(10)) and runner.empty_pages == 10
    assert sorted(runner.kept) == [1, 3, 5, 7, 9]  # handed to the walker: kept; the rest counted
