"""Hostile and broken servers over real HTTP: every failure stays in its scope, limits hold.

Each case injects one misbehaviour into one subscription of a generated fleet and checks
that the scope becomes a ``fetch_errors`` row with a clear code, that every other scope's
registries are kept, and that the fetch ends in bounded time. Also: argument checks happen
before any request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import mlreg_frames as mf
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.errors import FetchError, InsecureEndpointError, InvalidArgumentError
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.client import ArmClient
from mlreg_frames.sources.fetch import fetch_registries
from mlreg_frames.sources.limits import (
    DEFAULT_MAX_PAGE_BYTES,
    DEFAULT_MAX_PAGES,
    FetchLimits,
)

from .emulated import fetch_from, registry_ids, subscriptions_of


@pytest.fixture
def fleet() -> Iterator[ArmEmulator]:
    with ArmEmulator.from_fleet(24, 4, seed=5, page_size=3) as arm:
        yield arm


_subs, _ids = subscriptions_of, registry_ids


def _fetch(arm: ArmEmulator, *args: Any, **kwargs: Any) -> mf.RegistryTables:
    return fetch_from(arm, *args, **{"max_attempts": 2, **kwargs})


def _one_scope_fails(arm: ArmEmulator, tables: mf.RegistryTables, victim: str, code: str) -> None:
    errors = tables.fetch_errors
    assert errors["scope"].tolist() == [f"/subscriptions/{victim}"], errors.to_dict("records")
    assert errors["error_code"].tolist() == [code]
    assert errors["outcome"].tolist() == ["failed"]
    assert _ids(arm) - _ids(arm, victim) <= set(tables.registries["registry_id"]) <= _ids(arm)
    tables.validate()


@pytest.mark.parametrize(
    ("fault", "options", "code"),
    [
        (Fault("endless_next_link"), {"max_pages": 5}, "MaxPagesExceeded"),
        (Fault("huge", size=300_000), {"max_page_bytes": 100_000}, "PageTooLarge"),
        (Fault("gzip_bomb", size=3_000_000), {"max_page_bytes": 1_000_000}, "PageTooLarge"),
        (Fault("garbage_gzip"), {}, "ContentDecodingError"),
        # a deadline with headroom for the healthy scopes on a loaded machine; the drip needs minutes
        (Fault("drip", delay=0.05), {"request_timeout": 3.0}, "RequestDeadlineExceeded"),
        (Fault("drip_headers", delay=0.05), {"request_timeout": 3.0}, "RequestDeadlineExceeded"),
        (
            Fault("endless_continue", delay=0.01),
            {"request_timeout": 3.0},
            "RequestDeadlineExceeded",
        ),
        (Fault("foreign_next_link", url="http://127.0.0.1:99999"), {}, "InsecureEndpointError"),
        (Fault("foreign_next_link", url="http://[x"), {}, "InsecureEndpointError"),
        (Fault("foreign_next_link", url="http://a\\@b"), {}, "InsecureEndpointError"),
        (Fault("not_a_list"), {}, "FlattenError"),
    ],
    ids=lambda v: v.kind if isinstance(v, Fault) else None,
)
def test_a_hostile_scope_is_a_row_and_the_others_are_kept(
    fleet: ArmEmulator, fault: Fault, options: dict[str, Any], code: str
) -> None:
    victim = _subs(fleet)[1]
    fault.match = f"/subscriptions/{victim}/"
    fleet.add_fault(fault)
    started = time.monotonic()
    tables = _fetch(fleet, **options)
    assert time.monotonic() - started < 20
    _one_scope_fails(fleet, tables, victim, code)


def test_endless_next_links_stop_at_max_pages(fleet: ArmEmulator) -> None:
    victim = _subs(fleet)[0]
    fleet.add_fault(Fault("endless_next_link", match=f"/subscriptions/{victim}/"))
    tables = _fetch(fleet, max_pages=7)
    assert fleet.count(victim) == 7
    row = tables.fetch_errors.iloc[0]
    assert row["scope"] == f"/subscriptions/{victim}"
    assert "max_pages" in row["message"] and "7 page(s) read before the failure" in row["message"]
    assert set(tables.registries["registry_id"]) == _ids(fleet)  # its pages are kept too


@pytest.mark.parametrize(
    ("kind", "delay", "deadline"),
    [
        ("drip", 0.01, 0.5),  # the body: ~20 s
        # each header byte comes well inside the read timeout, so only a deadline over the
        # whole wait stops it (the watchdog): ~40 s without it
        ("drip_headers", 0.2, 1.0),
        ("endless_continue", 0.01, 1.0),  # forever without it
    ],
)
def test_a_slow_answer_is_cut_at_the_deadline(
    fleet: ArmEmulator, kind: str, delay: float, deadline: float
) -> None:
    victim = _subs(fleet)[0]
    fleet.add_fault(Fault(kind, match=f"/subscriptions/{victim}/", delay=delay))
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline") as info:
        _fetch(fleet, victim, request_timeout=deadline, timeout=(2, 30))
    assert deadline <= time.monotonic() - started < deadline + 5  # not the read timeout
    assert info.value.code == "RequestDeadlineExceeded"
    assert fleet.count(victim) == 1  # a deadline is not retried


def test_a_declared_huge_body_is_refused_before_reading(fleet: ArmEmulator) -> None:
    victim = _subs(fleet)[0]
    fleet.add_fault(Fault("huge", match=victim, size=DEFAULT_MAX_PAGE_BYTES + 10))
    with pytest.raises(FetchError, match="max_page_bytes") as info:
        _fetch(fleet, victim)
    assert info.value.code == "PageTooLarge"


def test_a_gzip_bomb_under_the_limit_is_read(fleet: ArmEmulator) -> None:
    victim = _subs(fleet)[0]
    fleet.add_fault(Fault("gzip_bomb", match=victim, size=500_000, times=1))
    tables = _fetch(fleet, victim, max_page_bytes=600_000)
    assert tables.fetch_errors.empty  # an empty page (padded), then the real ones
    assert set(tables.registries["registry_id"]) == set()  # the bomb page had no nextLink


def test_an_unexpected_exception_in_one_scope_is_a_row(fleet: ArmEmulator) -> None:
    victim = _subs(fleet)[2]

    class Exploding(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
            if victim in str(request.url):
                raise RuntimeError("the transport broke in an unforeseen way")
            return super().send(request, *args, **kwargs)

    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", Exploding())
        tables = _fetch(fleet, session=session)
    _one_scope_fails(fleet, tables, victim, "RuntimeError")
    assert "unforeseen" in tables.fetch_errors["message"].iloc[0]


def test_a_registry_the_flattener_refuses_leaves_only_its_scope_out() -> None:
    from mlreg_frames.synth import generate_fleet

    registries = generate_fleet(12, 3, seed=2)
    victim = parse_arm_id(registries[0]["id"])[0] or ""
    registries[0] = {**registries[0], "properties": {"regionDetails": "not a list"}}
    with ArmEmulator(registries, page_size=2) as arm:
        tables = _fetch(arm)
        _one_scope_fails(arm, tables, victim, "FlattenError")
        assert not _ids(arm, victim) & set(tables.registries["registry_id"])


def test_a_subscriptions_page_that_is_not_a_list_raises_cleanly(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("not_a_list", match="/subscriptions", times=1))
    with pytest.raises(FetchError, match="Subscriptions - List") as info:
        _fetch(fleet)
    assert info.value.code == "MalformedPage"


def test_malformed_subscription_entries_are_a_row_the_rest_is_read(fleet: ArmEmulator) -> None:
    good = list(fleet.subscriptions)
    fleet.subscriptions[:] = [
        1,
        None,
        "text",
        {"subscriptionId": 5},
        {"subscriptionId": "a/b"},
        {"state": "Enabled"},
        *good,
    ]
    tables = _fetch(fleet)
    errors = tables.fetch_errors
    assert errors["scope"].tolist() == ["/subscriptions"]
    assert errors["error_code"].tolist() == ["MalformedEntry"]
    assert "6 Subscriptions - List entries" in errors["message"].iloc[0]
    assert set(tables.registries["registry_id"]) == _ids(fleet)


def test_a_subscriptions_list_failing_after_the_first_page_keeps_what_it_found() -> None:
    with ArmEmulator.from_fleet(10, 5, seed=1, page_size=2) as arm:
        tables = _fetch(arm, max_pages=2)  # 5 subscriptions: 3 pages of 2; 1 page per scope
    errors = tables.fetch_errors
    assert errors["scope"].tolist() == ["/subscriptions"]
    assert errors["error_code"].tolist() == ["MaxPagesExceeded"]
    assert "the 4 subscriptions listed before the failure were read" in errors["message"].iloc[0]
    assert len(tables.provenance["scopes"]) == 4 and len(tables.registries) > 0


def test_default_limits_are_safe() -> None:
    limits = FetchLimits()
    assert (limits.max_pages, limits.max_page_bytes) == (DEFAULT_MAX_PAGES, DEFAULT_MAX_PAGE_BYTES)
    assert DEFAULT_MAX_PAGES == 10_000 and DEFAULT_MAX_PAGE_BYTES == 64 * 2**20
    assert 0 < limits.request_timeout <= 600
    import inspect

    defaults = inspect.signature(fetch_registries).parameters
    assert defaults["max_pages"].default == limits.max_pages
    assert defaults["max_page_bytes"].default == limits.max_page_bytes
    assert defaults["request_timeout"].default == limits.request_timeout


# --- argument checks --------------------------------------------------------------------------


class _Cred:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("no token may be asked for before the arguments are checked")


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        ((), {"max_attempts": 0}, "max_attempts"),
        ((), {"max_attempts": 2.5}, "max_attempts"),
        ((), {"max_attempts": True}, "max_attempts"),
        ((), {"max_retry_after": -1}, "max_retry_after"),
        ((), {"max_retry_after": math.nan}, "max_retry_after"),
        ((), {"backoff_base": -0.5}, "backoff_base"),
        ((), {"max_workers": 0}, "max_workers"),
        ((), {"max_workers": "4"}, "max_workers"),
        ((), {"timeout": 0}, "timeout"),
        ((), {"timeout": (1,)}, "timeout"),
        ((), {"timeout": (1, -2)}, "timeout"),
        ((), {"max_pages": 0}, "max_pages"),
        ((), {"max_page_bytes": -1}, "max_page_bytes"),
        ((), {"request_timeout": 0}, "request_timeout"),
        ((), {"request_timeout": math.inf}, "request_timeout"),
        (([1],), {}, "subscription_ids"),
        (([None],), {}, "subscription_ids"),
        ((["ok", ""],), {}, "subscription_ids"),
        ((["a/../b"],), {}, "subscription_ids"),
        ((123,), {}, "subscription_ids"),
        ((b"sub",), {}, "subscription_ids"),
        (("sub", 1), {}, "resource_group"),
        (("sub", ""), {}, "resource_group"),
        ((), {"cloud": 1}, "cloud"),
        ((), {"api_version": ""}, "api_version"),
        ((), {"credential": "a-token-string"}, "credential"),
        ((), {"raw_dir": 5}, "raw_dir"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    fleet: ArmEmulator, args: tuple, kwargs: dict[str, Any], argument: str
) -> None:
    options = {"endpoint": fleet.endpoint, "credential": _Cred(), **kwargs}
    with pytest.raises(InvalidArgumentError) as info:
        fetch_registries(*args, **options)
    assert info.value.argument == argument
    assert argument in str(info.value)
    assert isinstance(info.value, ValueError)
    assert fleet.count() == 0


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:abc", "http://127.0.0.1:0", "http://", "127.0.0.1:8080"]
)
def test_bad_endpoints_fail_before_any_request(endpoint: str) -> None:
    with pytest.raises(InsecureEndpointError, match="endpoint"):
        fetch_registries(endpoint=endpoint, credential=_Cred())


def test_the_client_checks_its_limits() -> None:
    with pytest.raises(InvalidArgumentError, match="max_pages"):
        ArmClient("http://127.0.0.1:1", _Cred(), limits=FetchLimits(max_pages=-3))


# --- the CLI options --------------------------------------------------------------------------


def test_cli_limits_reach_the_fetch(fleet: ArmEmulator, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from mlreg_frames.cli import main

    victim = _subs(fleet)[0]
    fleet.add_fault(Fault("endless_next_link", match=f"/subscriptions/{victim}/"))
    fleet.add_fault(Fault("huge", match=f"/subscriptions/{_subs(fleet)[1]}/", size=200_000))
    args = ["fetch", "--endpoint", fleet.endpoint, "--token-env", "T", "--out", str(tmp_path)]
    args += ["--no-progress", "--max-pages", "4", "--max-page-bytes", "100000"]
    args += ["--request-timeout", "5"]
    result = CliRunner().invoke(main, args, env={"T": "cli-token"})
    assert result.exit_code == 2, result.output
    assert f"MaxPagesExceeded /subscriptions/{victim}" in result.stderr
    assert "PageTooLarge" in result.stderr and "Traceback" not in result.output
    assert fleet.count(victim) == 4


@pytest.mark.parametrize(
    "option",
    [
        ["--max-pages", "0"],
        ["--max-page-bytes", "-1"],
        ["--request-timeout", "0"],
        ["--max-attempts", "0"],
        ["--workers", "0"],
        ["--max-retry-after", "-1"],
    ],
)
def test_cli_limit_options_are_range_checked(fleet: ArmEmulator, option: list[str]) -> None:
    from click.testing import CliRunner

    from mlreg_frames.cli import main

    args = ["fetch", "--endpoint", fleet.endpoint, "--token-env", "T", "--out", "x", *option]
    result = CliRunner().invoke(main, args, env={"T": "cli-token"})
    assert result.exit_code == 2 and option[0] in result.stderr
    assert "Traceback" not in result.output and fleet.count() == 0
