"""The Delta lake on Azure Blob Storage, against Azurite on 127.0.0.1: key, SAS, bearer token."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlreg_frames import LakeError, flatten, lake
from mlreg_frames.cli import main
from mlreg_frames.synth import generate_fleet

deltalake = pytest.importorskip(
    "deltalake", reason="the lake needs `pip install 'mlreg-frames[lake]'`"
)

REPO = Path(__file__).resolve().parent.parent


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
    # any Delta reader opens the tables with the same options
    registries = deltalake.DeltaTable(f"{root}/registries", storage_options=options)
    assert registries.to_pyarrow_table().num_rows == len(old.registries) + len(new.registries)
    assert (
        lake.optimize(root, storage_options=options)
        .set_index("table")
        .loc["registries", "files_after"]
        == 2
    )  # two months: one file each
    assert lake.read(root, "all", storage_options=options) == history


def test_round_trip_with_a_sas_and_collisions_are_refused(azurite, fleets):
    old, _ = fleets
    root = f"abfs://{azurite.new_container()}/lake"
    options = azurite.sas_storage_options()
    assert "account_key" not in options and "AccountKey" not in options["connection_string"]
    sid = lake.append(old, root, "2025-06-01T00:00:00Z", storage_options=options)
    assert lake.read(root, sid, storage_options=options) == old
    with pytest.raises(LakeError, match="already exists"):
        lake.append(old, root, "2025-06-01T00:00:00Z", storage_options=options)
    assert lake.vacuum(root, dry_run=True, storage_options=options) == []
    # the CLI, with the options as -o KEY=VALUE
    pairs = [f"-o{key}={value}" for key, value in azurite.storage_options.items()]
    listed = CliRunner().invoke(main, ["snapshots", root, *pairs])
    assert listed.exit_code == 0 and sid in listed.output, listed.output


def test_wrong_credentials_are_a_lake_error(azurite, fleets):
    root = f"abfs://{azurite.new_container()}/lake"
    bad = {**azurite.storage_options, "account_key": azurite.storage_options["account_key"][::-1]}
    with pytest.raises(LakeError, match="credentials"):
        lake.append(fleets[0], root, storage_options=bad)


def test_a_writer_killed_before_its_commit_on_blob_storage(azurite, tmp_path):
    from tests.test_lake_processes import fleet_tables, kill_at

    root = f"abfs://{azurite.new_container()}/lake"
    options = azurite.storage_options
    before = fleet_tables(1)
    kept = lake.append(before, root, storage_options=options)
    kill_at("commit", root, tmp_path, options)
    assert lake.snapshots(root, storage_options=options)["snapshot"].tolist() == [kept]
    assert lake.read(root, storage_options=options) == before
    raw = deltalake.DeltaTable(f"{root}/registries", storage_options=options)
    assert raw.to_pyarrow_table().num_rows == 2 * len(before.registries)
    assert len(lake.repair(root, older_than=timedelta(0), storage_options=options)) == 1
    raw = deltalake.DeltaTable(f"{root}/registries", storage_options=options)
    assert raw.to_pyarrow_table().num_rows == len(before.registries)


# Runs in a child process: the certificate is trusted through SSL_CERT_FILE, which the HTTP
# stacks (the Azure SDK's and delta-rs') read when they build their TLS context.
TOKEN_CLIENT = r"""
import base64, json, sys, time
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobServiceClient
from mlreg_frames import LakeError, flatten, lake
from mlreg_frames.cli import main
from mlreg_frames.synth import generate_fleet

endpoint, key = sys.argv[1], sys.argv[2]

def b64(part):
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

class AzureAdToken:
    # What azure-identity credentials are: a TokenCredential with get_token(*scopes).
    def __init__(self, audience):
        self.audience, self.scopes = audience, []
    def get_token(self, *scopes, **kwargs):
        self.scopes += scopes
        now = int(time.time())
        tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        claims = {"aud": self.audience, "iss": f"https://sts.windows.net/{tenant}/",
                  "tid": tenant, "oid": "lake-writer", "iat": now, "nbf": now - 60,
                  "exp": now + 3600}
        return AccessToken(f"{b64({'alg': 'none'})}.{b64(claims)}.", now + 3600)

def options(credential):
    return {"account_name": "devstoreaccount1", "endpoint": endpoint, "credential": credential}

with BlobServiceClient(endpoint, credential={"account_name": "devstoreaccount1",
                                             "account_key": key}) as client:
    client.create_container("oauth-lake")
tables = flatten(generate_fleet(8, 2, seed=5))
root = "abfss://oauth-lake/mlreg"
good = AzureAdToken("https://storage.azure.com")
sid = lake.append(tables, root, storage_options=options(good))
same = lake.read(root, storage_options=options(good)) == tables
try:
    lake.read(root, storage_options=options(AzureAdToken("https://not-storage.example.com")))
    refused = False
except LakeError:
    refused = True
print(json.dumps({"sid": sid, "same": same, "wrong_audience_refused": refused,
                  "scopes": sorted(set(good.scopes))}))
"""


def test_round_trip_with_an_azure_ad_token_credential(azurite_oauth):
    from tests.azurite import ACCOUNT_KEY

    emulator, cert = azurite_oauth
    env = {**os.environ, "SSL_CERT_FILE": str(cert), "REQUESTS_CA_BUNDLE": str(cert)}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", TOKEN_CLIENT, emulator.endpoint, ACCOUNT_KEY],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["same"] and result["wrong_audience_refused"]
    assert result["scopes"] == ["https://storage.azure.com/.default"]
    assert lake.parse_snapshot_id(result["sid"])
