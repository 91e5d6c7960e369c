"""The lake on Azure Blob Storage (adlfs) against Azurite on 127.0.0.1: key, SAS, AD token."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from mlreg_frames import LakeError, flatten, lake
from mlreg_frames.lake.store import LakeStore
from mlreg_frames.synth import generate_fleet

REPO = Path(__file__).resolve().parent.parent

pytest.importorskip(
    "adlfs", reason="the lake's Azure path needs `pip install 'mlreg-frames[lake]'`"
)


@pytest.fixture(scope="module")
def fleets():
    fleet = generate_fleet(12, 2, seed=21)
    changed = copy.deepcopy(fleet[:-1])
    changed[0]["properties"]["publicNetworkAccess"] = "Disabled"
    return flatten(copy.deepcopy(fleet)), flatten(changed)


def test_round_trip_with_the_account_key(azurite, fleets):
    old, new = fleets
    root = f"abfs://{azurite.new_container()}/mlreg/lake"
    options = azurite.storage_options
    first = lake.append(old, root, "2025-06-01T00:00:00Z", storage_options=options)
    second = lake.append(new, root, storage_options=options)

    assert lake.read(root, first, storage_options=options) == old
    assert lake.read(root, storage_options=options) == new
    listed = lake.snapshots(root, storage_options=options)
    assert listed["snapshot"].tolist() == [first, second]
    assert listed["registries"].tolist() == [len(old.registries), len(new.registries)]
    history = lake.read(root, "all", storage_options=options)
    assert history.at(first) == old and history.at(second) == new

    changes = lake.diff_snapshots(root, storage_options=options)
    assert sorted(changes["change"].unique()) == ["changed", "removed"]
    assert "public_network_access" in set(changes["field"].dropna())

    store = LakeStore(root, options)
    assert store.list_dir("_snapshots") == [f"{first}.json", f"{second}.json"]
    assert store.list_dir("registries") == [f"snapshot={first}", f"snapshot={second}"]


def test_round_trip_with_a_sas_and_collisions_are_refused(azurite, fleets):
    old, _ = fleets
    root = f"abfs://{azurite.new_container()}/lake"
    options = azurite.sas_storage_options()
    sid = lake.append(old, root, "2025-06-01T00:00:00Z", storage_options=options)
    assert lake.read(root, sid, storage_options=options) == old
    with pytest.raises(LakeError, match="already exists"):
        lake.append(old, root, "2025-06-01T00:00:00Z", storage_options=options)
    # the refused writer left nothing behind
    assert lake.vacuum(root, dry_run=True, storage_options=options) == []


def test_a_crashed_writer_on_blob_storage_is_invisible_and_vacuumed(azurite, fleets):
    old, new = fleets
    root = f"abfs://{azurite.new_container()}/lake"
    options = azurite.storage_options
    sid = lake.append(old, root, storage_options=options)
    # what a writer killed before its commit leaves on object storage: a lock and parts
    store = LakeStore(root, options)
    orphan = "2099-01-01T000000.000000Z"
    store.write_atomic(
        lake.LOCK_PATH.format(snapshot=orphan), b'{"created_at": "2000-01-01T00:00:00+00:00"}'
    )
    part = lake.PART_PATH.format(table="registries", snapshot=orphan, writer="dead")
    store.write_atomic(part, b"PAR1 not really")

    assert lake.snapshots(root, storage_options=options)["snapshot"].tolist() == [sid]
    assert lake.read(root, storage_options=options) == old
    removed = lake.vacuum(root, storage_options=options)
    assert sorted(removed) == sorted(
        [lake.LOCK_PATH.format(snapshot=orphan), f"registries/snapshot={orphan}"]
    )
    assert store.list_dir("registries") == [f"snapshot={sid}"]
    assert (
        lake.read(root, lake.append(new, root, storage_options=options), storage_options=options)
        == new
    )


def test_wrong_credentials_are_a_lake_error(azurite, fleets):
    root = f"abfs://{azurite.new_container()}/lake"
    bad = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=AAAA")
    with pytest.raises(LakeError, match="credentials"):
        lake.append(fleets[0], root, storage_options={"connection_string": bad})


def test_a_writer_killed_before_its_commit_on_blob_storage(azurite, fleets, tmp_path):
    from tests.test_lake import fleet_tables, start_writer, wait_for

    root = f"abfs://{azurite.new_container()}/lake"
    options = azurite.storage_options
    before = fleet_tables(1)
    kept = lake.append(before, root, storage_options=options)
    paused = tmp_path / "paused"
    process = start_writer(
        {
            "root": root,
            "storage_options": options,
            "appends": [[2, None]],
            "pause": "commit",
            "signal": str(paused),
        }
    )
    try:
        wait_for(paused, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert lake.snapshots(root, storage_options=options)["snapshot"].tolist() == [kept]
    assert lake.read(root, storage_options=options) == before
    store = LakeStore(root, options)
    assert len(store.list_dir("registries")) == 2  # the killed writer's parts are there...
    removed = lake.vacuum(root, older_than=timedelta(0), storage_options=options)
    assert len(removed) == 1 + 8  # ...until vacuum takes its lock and its eight partitions
    assert store.list_dir("registries") == [f"snapshot={kept}"]


# Runs in a child process: the certificate must be trusted (SSL_CERT_FILE) before the
# HTTP stack builds its TLS context, which happens at import.
TOKEN_CLIENT = r"""
import base64, json, sys, time
import fsspec
from azure.core.credentials import AccessToken
from mlreg_frames import LakeError, flatten, lake
from mlreg_frames.synth import generate_fleet

host, audience = sys.argv[1], sys.argv[2]

def b64(part):
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

class AzureAdToken:
    # What azure.identity.aio credentials are to adlfs: an AsyncTokenCredential.
    def __init__(self, audience):
        self.audience = audience
    async def get_token(self, *scopes, **kwargs):
        now = int(time.time())
        tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        claims = {"aud": self.audience, "iss": f"https://sts.windows.net/{tenant}/",
                  "tid": tenant, "oid": "lake-writer", "iat": now, "nbf": now - 60,
                  "exp": now + 3600}
        return AccessToken(f"{b64({'alg': 'none'})}.{b64(claims)}.", now + 3600)
    async def close(self):
        pass
    async def __aenter__(self):
        return self
    async def __aexit__(self, *exc):
        pass

def options(audience):
    return {"account_name": "devstoreaccount1", "account_host": host,
            "credential": AzureAdToken(audience), "skip_instance_cache": True}

tables = flatten(generate_fleet(8, 2, seed=5))
root = "abfs://oauth-lake/mlreg"
fs, _ = fsspec.core.url_to_fs(root, **options(audience))
fs.mkdir("oauth-lake")  # a lake lives in an existing container, as with a real account
sid = lake.append(tables, root, storage_options=options(audience))
same = lake.read(root, storage_options=options(audience)) == tables
try:
    lake.read(root, storage_options=options("https://not-storage.example.com"))
    refused = False
except LakeError:
    refused = True
print(json.dumps({"sid": sid, "same": same, "wrong_audience_refused": refused}))
"""


def test_round_trip_with_an_azure_ad_token_credential(azurite_oauth):
    emulator, cert = azurite_oauth
    env = {**os.environ, "SSL_CERT_FILE": str(cert), "PYTHONPATH": str(REPO)}
    host = f"127.0.0.1:{emulator.port}/devstoreaccount1"
    done = subprocess.run(
        [sys.executable, "-c", TOKEN_CLIENT, host, "https://storage.azure.com"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["same"] and result["wrong_audience_refused"]
    assert lake.parse_snapshot_id(result["sid"])
