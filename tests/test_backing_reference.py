"""Every official storage and ACR example body flattens (skipped when ../shared is absent)."""

from __future__ import annotations

import json

import pytest

from mlreg_frames.flatten.backing import backing_tables

from .helpers import ROOT

EXPOSURE = ROOT.parent / "shared" / "reference" / "exposure"
pytestmark = pytest.mark.skipif(
    not EXPOSURE.is_dir(), reason="../shared/reference/exposure is absent"
)


def bodies(folder: str) -> list[tuple[str, dict]]:
    out = []
    for path in sorted((EXPOSURE / folder).glob("*.json")):
        for status, response in json.loads(path.read_text(encoding="utf-8"))["responses"].items():
            body = response.get("body") if isinstance(response, dict) else None
            if isinstance(body, dict) and "id" in body and "type" in body:
                out.append((f"{path.name}:{status}", body))
    return out


@pytest.mark.parametrize(("name", "body"), bodies("storage-2025-08-01") + bodies("containerregistry-2025-11-01"),
                         ids=lambda v: v if isinstance(v, str) else "")  # fmt: skip
def test_official_examples_flatten(name, body):
    tables = backing_tables([body])
    assert tables.fetch_errors.empty, tables.fetch_errors.to_dict("records")
    assert len(tables.storage_accounts) + len(tables.container_registries) == 1


def test_absent_is_not_false_in_the_get_properties_example():
    ((_, body),) = [
        b
        for b in bodies("storage-2025-08-01")
        if b[0].startswith("StorageAccountGetProperties.json")
    ]
    row = backing_tables([body]).storage_accounts.iloc[0]
    assert row.isna()["public_network_access"] and row.isna()["allow_blob_public_access"]
    assert row["public_network_access_effective"] == "Enabled"
    assert row["network_exposure"] == "all_networks"
    assert row["resource_access_rules"] == 1 and row["https_only"] == False  # noqa: E712  explicit false


def test_disabled_public_access_dominates_allow_in_the_update_example():
    (body,) = [
        b
        for n, b in bodies("storage-2025-08-01")
        if n.startswith("StorageAccountUpdateDisablePublicNetworkAccess.json:200")
    ]
    row = backing_tables([body]).storage_accounts.iloc[0]
    assert row["default_action"] == "Allow" and row["network_exposure"] == "private"


def test_acr_example_keeps_its_policies():
    ((_, body),) = bodies("containerregistry-2025-11-01")
    row = backing_tables([body]).container_registries.iloc[0]
    assert row["export_policy"] == "enabled" and row["aad_auth_as_arm_policy"] == "enabled"
    assert row["network_rule_bypass"] == "AzureServices" and row["sku"] == "Standard"
    assert '"properties.status": null' in row["extra"]
