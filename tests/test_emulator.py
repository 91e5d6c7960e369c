"""The local ARM emulator over real HTTP: routes, paging, auth, ARM error bodies, faults."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from mlreg_frames.emulator import ArmEmulator, Fault, sample_dir
from mlreg_frames.flatten import parse_arm_id

AUTH = {"Authorization": "Bearer t0ken"}
V = {"api-version": "2025-09-01"}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def arm() -> Iterator[ArmEmulator]:
    with ArmEmulator(page_size=4) as emulator:
        yield emulator


def _subs(arm: ArmEmulator) -> list[str]:
    return sorted({parse_arm_id(r["id"])[0] or "" for r in arm.registries})


def _all_pages(http: requests.Session, url: str) -> list[dict]:
    pages = []
    while url:
        answer = http.get(url, headers=AUTH, timeout=5)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        url = pages[-1].get("nextLink")
    return pages


def test_serves_the_bundled_sample_by_default(arm: ArmEmulator) -> None:
    assert sample_dir().is_dir()
    assert len(arm.registries) >= 30
    assert all("/registries/" in r["id"].lower() for r in arm.registries)
    states = {s["state"] for s in arm.subscriptions}
    assert "Enabled" in states


def test_subscriptions_list_and_paging_cover_every_registry(
    arm: ArmEmulator, http: requests.Session
) -> None:
    subs = _all_pages(http, f"{arm.endpoint}/subscriptions?api-version=2022-12-01")
    listed = {s["subscriptionId"].lower() for page in subs for s in page["value"]}
    assert set(_subs(arm)) <= listed
    seen = []
    for sub in _subs(arm):
        url = (
            f"{arm.endpoint}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices"
            "/registries?api-version=2025-09-01"
        )
        pages = _all_pages(http, url)
        assert all(len(p["value"]) <= 4 for p in pages)
        links = [p["nextLink"] for p in pages[:-1]]
        assert all(link.startswith(arm.endpoint) and "$skipToken=" in link for link in links)
        assert all("api-version=2025-09-01" in link for link in links)
        seen += [r["id"] for p in pages for r in p["value"]]
    assert sorted(seen) == sorted(r["id"] for r in arm.registries)


def test_paths_match_case_insensitively_and_resource_groups_filter(
    arm: ArmEmulator, http: requests.Session
) -> None:
    reg = arm.registries[0]
    sub, group = parse_arm_id(reg["id"])
    url = (
        f"{arm.endpoint}/SUBSCRIPTIONS/{str(sub).upper()}/resourcegroups/{str(group).upper()}"
        "/Providers/microsoft.machinelearningservices/REGISTRIES"
    )
    pages = _all_pages(http, url + "?api-version=2025-09-01")
    ids = {r["id"] for p in pages for r in p["value"]}
    assert reg["id"] in ids
    assert {str(parse_arm_id(i)[1]).lower() for i in ids} == {str(group).lower()}


@pytest.mark.parametrize(
    ("path", "query", "headers", "status", "code"),
    [
        ("/subscriptions", {}, AUTH, 400, "MissingApiVersionParameter"),
        ("/subscriptions", V, {}, 401, "AuthenticationFailed"),
        ("/subscriptions", V, {"Authorization": "Basic abc"}, 401, "AuthenticationFailed"),
        (
            "/subscriptions/nope/providers/Microsoft.MachineLearningServices/registries",
            V,
            AUTH,
            404,
            "SubscriptionNotFound",
        ),
        ("/nothing/here", V, AUTH, 404, "InvalidResourceType"),
    ],
)
def test_errors_are_arm_error_responses(
    arm: ArmEmulator,
    http: requests.Session,
    path: str,
    query: dict,
    headers: dict,
    status: int,
    code: str,
) -> None:
    answer = http.get(arm.endpoint + path, params=query, headers=headers, timeout=5)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]
    assert answer.headers["x-ms-request-id"]


def test_unknown_resource_group_is_404(arm: ArmEmulator, http: requests.Session) -> None:
    sub = _subs(arm)[0]
    url = (
        f"{arm.endpoint}/subscriptions/{sub}/resourceGroups/no-such-rg/providers/"
        "Microsoft.MachineLearningServices/registries"
    )
    answer = http.get(url, params=V, headers=AUTH, timeout=5)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "ResourceGroupNotFound")


def test_a_configured_token_is_required(http: requests.Session) -> None:
    with ArmEmulator(token="right") as arm:
        url = f"{arm.endpoint}/subscriptions"
        wrong = http.get(url, params=V, headers=AUTH, timeout=5)
        right = http.get(url, params=V, headers={"Authorization": "Bearer right"}, timeout=5)
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (
            401,
            "InvalidAuthenticationToken",
        )
        assert right.status_code == 200
        assert arm.credential().get_token("x").token == "right"


def test_faults_hit_only_matching_requests_and_only_n_times(
    arm: ArmEmulator, http: requests.Session
) -> None:
    sub = _subs(arm)[0]
    throttle = arm.add_fault(
        Fault("throttle", match=f"/subscriptions/{sub}/", times=2, retry_after="7")
    )
    arm.add_fault(Fault("error", match="/subscriptions/" + _subs(arm)[1], status=502, times=1))
    url = (
        f"{arm.endpoint}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/registries"
    )
    statuses = [http.get(url, params=V, headers=AUTH, timeout=5) for _ in range(3)]
    assert [a.status_code for a in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "7"
    assert statuses[0].json()["error"]["code"] == "TooManyRequests"
    assert throttle.used == 2
    assert http.get(f"{arm.endpoint}/subscriptions", params=V, headers=AUTH).status_code == 200
    assert arm.count(sub) == 3
    assert arm.count() == 4
    assert [r.status for r in arm.requests] == [429, 429, 200, 200]


def test_page_shape_faults(arm: ArmEmulator, http: requests.Session) -> None:
    sub = _subs(arm)[0]
    url = (
        f"{arm.endpoint}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/"
        "registries?api-version=2025-09-01"
    )
    arm.add_fault(Fault("empty_page", match=sub, times=1))
    first = http.get(url, headers=AUTH, timeout=5).json()
    assert first["value"] == [] and "$skipToken=0" in first["nextLink"]
    arm.add_fault(Fault("repeat_next_link", match=sub, times=1))
    again = http.get(first["nextLink"], headers=AUTH, timeout=5).json()
    assert again["nextLink"] == first["nextLink"]
    arm.add_fault(Fault("foreign_next_link", match=sub, times=1, url="http://127.0.0.2:9"))
    foreign = http.get(url, headers=AUTH, timeout=5).json()
    assert foreign["nextLink"].startswith("http://127.0.0.2:9/subscriptions/")
    arm.add_fault(Fault("malformed", match=sub, times=1))
    broken = http.get(url, headers=AUTH, timeout=5)
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()


def test_forbidden_and_dropped_connections(arm: ArmEmulator, http: requests.Session) -> None:
    sub = _subs(arm)[0]
    arm.add_fault(Fault("forbidden", match=sub))
    arm.add_fault(Fault("drop", match="/subscriptions", times=1))
    with pytest.raises(requests.ConnectionError):
        http.get(f"{arm.endpoint}/subscriptions", params=V, headers=AUTH, timeout=5)
    url = (
        f"{arm.endpoint}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/registries"
    )
    answer = http.get(url, params=V, headers=AUTH, timeout=5)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "AuthorizationFailed")


def test_pages_per_scope_cuts_every_scope_into_n_pages(http: requests.Session) -> None:
    with ArmEmulator.from_fleet(40, 4, pages_per_scope=3) as arm:
        for sub in _subs(arm):
            url = (
                f"{arm.endpoint}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/"
                "registries?api-version=1"
            )
            pages = _all_pages(http, url)
            assert len(pages) == 3
            expected = [r for r in arm.registries if sub in r["id"]]
            assert sum(len(p["value"]) for p in pages) == len(expected)


def test_requests_run_concurrently() -> None:
    import concurrent.futures

    with ArmEmulator(latency=0.1) as arm, concurrent.futures.ThreadPoolExecutor(6) as pool:
        url = f"{arm.endpoint}/subscriptions?api-version=1"
        answers = list(pool.map(lambda _: requests.get(url, headers=AUTH, timeout=5), range(6)))
    assert {a.status_code for a in answers} == {200}
    assert arm.max_in_flight >= 3


def test_runs_as_a_subprocess() -> None:
    cmd = [
        sys.executable,
        "-m",
        "mlreg_frames",
        "emulator",
        "--port",
        "0",
        "--fleet",
        "12",
        "--subscriptions",
        "2",
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert "12 registries" in line
            endpoint = line.split()[3]
            answer = requests.get(f"{endpoint}/subscriptions", params=V, headers=AUTH, timeout=5)
            assert len(answer.json()["value"]) == 2
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
