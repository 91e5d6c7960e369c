"""Every official REST spec example under ../shared/reference/azure-specs flattens correctly.

Row counts are compared with an independent walk of the same JSON (keys lower-cased, the
older and newer field names both looked up), so the flattener is checked against what the
files actually hold. Skips cleanly where the reference folder is absent (a fresh clone).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mlreg_frames as mf

from .helpers import SPECS

EXAMPLES = sorted(p for p in SPECS.glob("*/*.json")) if SPECS.is_dir() else []
pytestmark = pytest.mark.skipif(not EXAMPLES, reason="../shared/reference/azure-specs is absent")


def _lower(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k.lower(): _lower(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower(v) for v in obj]
    return obj


def _expected_counts(example: dict[str, Any]) -> dict[str, int]:
    body = _lower(example).get("responses", {}).get("200", {}).get("body")
    registries = [] if body is None else body.get("value", [body]) if isinstance(body, dict) else []
    by_id = {r["id"].lower(): r for r in registries}  # the last one seen wins
    counts = dict.fromkeys(
        ("registries", "regions", "storage", "acr", "identities", "pe_connections", "tags"), 0
    )
    for reg in by_id.values():
        props = reg.get("properties") or {}
        regions = [r for r in props.get("regiondetails") or [] if r is not None]
        identity = reg.get("identity") or {}
        mrg = (props.get("managedresourcegroupsettings") or {}).get("assignedidentities") or []
        pes = props.get("registryprivateendpointconnections")
        counts["registries"] += 1
        counts["regions"] += len(regions)
        counts["storage"] += sum(
            1 for r in regions for s in r.get("storageaccountdetails") or [] if s is not None
        )
        counts["acr"] += sum(1 for r in regions for a in r.get("acrdetails") or [] if a is not None)
        counts["identities"] += (
            int(identity.get("principalid") is not None or identity.get("tenantid") is not None)
            + len(identity.get("userassignedidentities") or {})
            + len(mrg)
        )
        counts["pe_connections"] += len(
            pes if pes is not None else props.get("privateendpointconnections") or []
        )
        counts["tags"] += len(reg.get("tags") or {}) + len(props.get("tags") or {})
    return counts


def _is_example(path: Path) -> bool:
    return "responses" in json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in EXAMPLES])
def test_example_flattens_to_independently_counted_rows(path: Path) -> None:
    if not _is_example(path):
        pytest.skip("the swagger itself, not an example")
    example = json.loads(path.read_text(encoding="utf-8"))
    body = example["responses"].get("200", {}).get("body", {})
    items = body.get("value", [body]) if isinstance(body, dict) else []
    if any("privateendpointconnections" in str(i.get("type", "")).lower() for i in items):
        with pytest.raises(mf.FlattenError, match="private endpoint connection"):
            mf.flatten(mf.read_pages(path))
        return
    tables = mf.flatten(mf.read_pages(path)).validate()
    assert tables.counts(include_errors=False) == _expected_counts(example)


def test_all_examples_at_once_and_parquet_round_trip(tmp_path: Path) -> None:
    paths = [p for p in EXAMPLES if _is_example(p) and "PrivateEndpointConnection" not in p.name]
    tables = mf.flatten(mf.read_pages(paths)).validate()
    assert len(tables.registries) >= 1
    tables.to_parquet(tmp_path)
    assert mf.read_parquet(tmp_path) == tables


def test_odd_offsets_parse_to_the_right_instant() -> None:
    path = SPECS / "2024-10-01" / "list-UserCreated.json"
    if not path.exists():
        pytest.skip("example not present")
    tables = mf.flatten(mf.read_pages(path))
    # 12:34:56.999 at +00:42 is 11:52:56.999 UTC
    assert tables.registries["created_at"].iloc[0].isoformat() == "2020-01-01T11:52:56.999000+00:00"
