"""Synthetic registry contents: the asset containers and versions ARM would list.

:func:`generate_assets` gives, for one registry id, a realistic mix: MLflow models with
``flavors`` and custom models, curated and custom environments (an image or a build
context), components with a ``componentSpec``, ``uri_folder``/``uri_file``/``mltable`` data,
code snapshots; archived items (about one in ten), odd timestamps (``+00:48`` offsets,
7-digit fractions, a few missing ``systemData``) and sparse containers. Deterministic for a
registry id and seed; standard library only.

Example::

    >>> held = generate_assets("/subscriptions/s/resourceGroups/g/providers/"
    ...     "Microsoft.MachineLearningServices/registries/r", containers=4)
    >>> sorted(held) == sorted(ASSET_TYPES) and sum(len(c) for c in held.values()) == 4
    True
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

__all__ = ["ASSET_TYPES", "AssetSet", "Container", "asset_pages", "generate_assets"]

ASSET_TYPES = ("models", "environments", "components", "data", "codes")

Container = tuple[dict[str, Any], list[dict[str, Any]]]
"""One container's list item and its versions' list items, as ARM returns them."""

AssetSet = dict[str, list[Container]]
"""Containers by asset type."""

_WEIGHTS = {"models": 4, "environments": 2, "components": 3, "data": 2, "codes": 2}
_PEOPLE = ("Ana Silva", "Wei Chen", "ml-pipeline", "Priya Nair", "release-bot")
_BY_TYPES = ("User", "Application", "ManagedIdentity")
_FLAVORS = ("python_function", "sklearn", "pytorch", "transformers", "lightgbm")


def _stamp(rng: random.Random, day: int) -> str:
    year, rest = divmod(day, 365)
    month, mday = 1 + (rest // 31) % 12, 1 + rest % 28
    time = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    style = rng.random()
    if style < 0.1:
        return f"{2021 + year}-{month:02d}-{mday:02d}T{time}.1234567+00:48"
    if style < 0.2:
        return f"{2021 + year}-{month:02d}-{mday:02d}T{time}+05:30"
    return f"{2021 + year}-{month:02d}-{mday:02d}T{time}.{rng.randrange(1000):03d}Z"


def _system(rng: random.Random, day: int) -> dict[str, Any] | None:
    if rng.random() < 0.05:
        return None  # some lists omit it
    who = rng.choice(_PEOPLE)
    return {
        "createdAt": _stamp(rng, day), "createdBy": who, "createdByType": rng.choice(_BY_TYPES),
        "lastModifiedAt": _stamp(rng, day + rng.randrange(30)), "lastModifiedBy": who,
        "lastModifiedByType": rng.choice(_BY_TYPES),
    }  # fmt: skip


def _version_props(rng: random.Random, kind: str, name: str, version: str) -> dict[str, Any]:
    props: dict[str, Any] = {"isAnonymous": False, "isArchived": rng.random() < 0.1}
    if rng.random() < 0.7:
        props["description"] = f"{name} v{version}"
    if rng.random() < 0.5:
        props["tags"] = {"owner": rng.choice(_PEOPLE), "stage": rng.choice(("dev", "prod"))}
    if kind == "models":
        mlflow = rng.random() < 0.7
        props["modelType"] = "MLFlowModel" if mlflow else "CustomModel"
        props["modelUri"] = f"azureml://registries/x/models/{name}/versions/{version}"
        if mlflow:
            flavor = rng.choice(_FLAVORS)
            props["flavors"] = {flavor: {"data": {"loader_module": f"mlflow.{flavor}"}}}
        if rng.random() < 0.5:
            props["jobName"] = f"job-{rng.randrange(10**6):06d}"
        props["stage"] = rng.choice(("Development", "Production", "Archived"))
    elif kind == "environments":
        curated = rng.random() < 0.4
        props["environmentType"] = "Curated" if curated else "UserCreated"
        props["osType"] = rng.choice(("Linux", "Linux", "Windows"))
        if curated or rng.random() < 0.5:
            props["image"] = f"mcr.microsoft.com/azureml/{name}:{version}"
        else:
            props["build"] = {"contextUri": f"https://blob/{name}/{version}/",
                              "dockerfilePath": "Dockerfile"}  # fmt: skip
        props["condaFile"] = "channels:\n- conda-forge\ndependencies:\n- python=3.10\n"
        props["autoRebuild"] = rng.choice(("Disabled", "OnBaseImageUpdate"))
    elif kind == "components":
        props["componentSpec"] = {"name": name, "version": version, "type": "command",
                                  "inputs": {"data": {"type": "uri_folder"}}}  # fmt: skip
    elif kind == "data":
        data_type = rng.choice(("uri_folder", "uri_file", "mltable"))
        props["dataType"] = data_type
        props["dataUri"] = f"azureml://datastores/blob/paths/{name}/{version}/"
        if data_type == "mltable":
            props["referencedUris"] = [f"./part-{i}.parquet" for i in range(rng.randrange(1, 4))]
    else:
        props["codeUri"] = f"https://blob/codes/{name}/{version}/"
    return props


def generate_assets(
    registry_id: str,
    *,
    seed: int = 0,
    containers: int | None = None,
    max_containers: int = 40,
    max_versions: int = 6,
) -> AssetSet:
    """The asset containers and versions of one registry (deterministic for id and seed).

    Args:
        registry_id: the registry's ARM id (items get ids under it).
        seed: varies the mix.
        containers: how many containers in all (default: 0 to ``max_containers``, varying
            per registry).
        max_versions: most versions per container.
    """
    digest = hashlib.sha256(f"{seed}:{registry_id.lower()}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    total = rng.randrange(max_containers + 1) if containers is None else containers
    kinds = rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()), k=total)
    held: AssetSet = {kind: [] for kind in ASSET_TYPES}
    for index, kind in enumerate(kinds):
        name = f"{kind[:-1] if kind.endswith('s') else kind}-{index:03d}"
        day = rng.randrange(5 * 365)
        versions = []
        for number in range(1, rng.randrange(1, max_versions + 1) + 1):
            version = str(number)
            item: dict[str, Any] = {
                "id": f"{registry_id}/{kind}/{name}/versions/{version}",
                "name": version,
                "type": f"Microsoft.MachineLearningServices/registries/{kind}/versions",
                "properties": _version_props(rng, kind, name, version),
            }
            system = _system(rng, day + number * 7)
            if system is not None:
                item["systemData"] = system
            versions.append(item)
        props: dict[str, Any] = {"isArchived": all(v["properties"]["isArchived"] for v in versions)}
        if rng.random() < 0.8:  # containers are sparse: not every list says these
            props["latestVersion"] = versions[-1]["name"]
            props["nextVersion"] = str(len(versions) + 1)
        if rng.random() < 0.6:
            props["description"] = f"The {name} {kind}"
        if kind == "data":
            props["dataType"] = versions[-1]["properties"]["dataType"]
        container: dict[str, Any] = {
            "id": f"{registry_id}/{kind}/{name}",
            "name": name,
            "type": f"Microsoft.MachineLearningServices/registries/{kind}",
            "properties": props,
        }
        system = _system(rng, day)
        if system is not None:
            container["systemData"] = system
        held[kind].append((container, versions))
    return held


_VIEW_TYPES = ("models", "environments", "data")


def asset_pages(
    registry_id: str, held: AssetSet, *, page_size: int = 20,
    endpoint: str = "https://management.azure.com", api_version: str = "2025-09-01",
) -> list[dict[str, Any]]:  # fmt: skip
    """The list pages ARM would answer for what a registry holds, each with its ``_mlreg.url``.

    The containers of each type, then each container's versions, ``nextLink`` s chaining pages
    (``$skipToken``, as the emulator cuts them); what ``flatten_assets`` reads.
    """
    pages: list[dict[str, Any]] = []

    def add(path: str, kind: str, items: list[dict[str, Any]]) -> None:
        view = "&listViewType=All" if kind in _VIEW_TYPES else ""
        base = f"{endpoint}{path}?api-version={api_version}{view}"
        for start in range(0, max(1, len(items)), page_size):
            url = base if start == 0 else f"{base}&$skipToken={start}"
            page: dict[str, Any] = {"value": items[start : start + page_size]}
            if start + page_size < len(items):
                page["nextLink"] = f"{base}&$skipToken={start + page_size}"
            page["_mlreg"] = {"source": "synth", "url": url, "fetched_at": None,
                              "api_version": api_version}  # fmt: skip
            pages.append(page)

    for kind in ASSET_TYPES:
        containers = held.get(kind, [])
        add(f"{registry_id}/{kind}", kind, [c for c, _ in containers])
        for container, versions in containers:
            add(f"{registry_id}/{kind}/{container['name']}/versions", kind, versions)
    return pages
