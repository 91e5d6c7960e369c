"""Reading and writing raw pages: formats, provenance, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlreg_frames as mf
from mlreg_frames.pages import Page, write_page

from .helpers import DATA

REG = {
    "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/registries/a"
}


def test_page_object_bare_array_and_ndjson(tmp_path: Path) -> None:
    (tmp_path / "page.json").write_text(json.dumps({"value": [REG], "nextLink": "n"}))
    (tmp_path / "array.json").write_text(json.dumps([REG, REG]))
    (tmp_path / "lines.ndjson").write_text(
        json.dumps({"value": [REG]}) + "\n\n" + json.dumps(REG) + "\n"
    )
    pages = mf.read_pages(tmp_path)
    assert [p.source for p in pages] == [
        "array.json",
        "lines.ndjson:1",
        "lines.ndjson",
        "page.json",
    ]
    assert [len(p.registries) for p in pages] == [2, 1, 1, 1]
    assert pages[3].next_link == "n"


def test_glob_and_list_of_sources(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"p{i}.json").write_text(json.dumps({"value": [REG]}))
    assert len(mf.read_pages(str(tmp_path / "p*.json"))) == 3
    assert len(mf.read_pages([tmp_path / "p0.json", tmp_path / "p1.json"])) == 2


def test_write_page_round_trips_provenance(tmp_path: Path) -> None:
    page = Page({"value": [REG], "nextLink": None}, "https://x", url="https://x",
                fetched_at="2026-01-01T00:00:00Z", api_version="2025-09-01")  # fmt: skip
    path = write_page(page, tmp_path / "sub" / "p.json")
    back = mf.read_pages(path)[0]
    assert (back.url, back.fetched_at, back.api_version) == (
        page.url,
        page.fetched_at,
        "2025-09-01",
    )
    assert back.registries == [REG]
    assert "_mlreg" not in back.body
    assert [p.name for p in path.parent.iterdir()] == ["p.json"]  # no temp file left


def test_spec_example_files_are_read_from_their_200_body(tmp_path: Path) -> None:
    example = {"parameters": {"api-version": "2025-09-01"},
               "responses": {"200": {"body": {"value": [REG], "nextLink": "string"}}}}  # fmt: skip
    (tmp_path / "list.json").write_text(json.dumps(example))
    (tmp_path / "delete.json").write_text(json.dumps({"parameters": {}, "responses": {"204": {}}}))
    pages = mf.read_pages(tmp_path)
    assert sum(len(p.registries) for p in pages) == 1


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.ndjson").write_text(json.dumps(REG) + "\n{oops\n")
    with pytest.raises(mf.PagesError) as info:
        mf.read_pages(tmp_path / "bad.ndjson")
    assert info.value.line == 2
    assert "bad.ndjson:2" in str(info.value)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(mf.PagesError, match="neither a file"):
        mf.read_pages(tmp_path / "nope.json")
    with pytest.raises(mf.PagesError, match="holds no page files"):
        mf.read_pages(tmp_path)


def test_json_scalar_file_is_a_pages_error(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text("42")
    with pytest.raises(mf.PagesError, match="not a page object"):
        mf.read_pages(tmp_path / "n.json", lazy=False)
    lazy = mf.read_pages(tmp_path / "n.json")  # parsed on first use
    assert not lazy[0].loaded
    with pytest.raises(mf.PagesError, match="not a page object"):
        mf.flatten(lazy)


def test_fixture_folder_reads_with_utf8_bom(tmp_path: Path) -> None:
    text = (DATA / "quirks" / "user_created.json").read_text(encoding="utf-8")
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    tables = mf.flatten(mf.read_pages(tmp_path / "bom.json"))
    assert "環境" in tables.tags["key"].tolist()


def test_folder_skips_underscore_and_dot_files(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"value": [REG]}))
    (tmp_path / "_subscriptions.json").write_text(
        json.dumps({"value": [{"id": "/subscriptions/s"}]})
    )
    (tmp_path / ".p.json.tmp.json").write_text("{half")
    (tmp_path / "_staging").mkdir()
    (tmp_path / "_staging" / "q.json").write_text("{half")
    # the folder's own Subscriptions - List body is read (last), for the subscriptions table
    assert [p.source for p in mf.read_pages(tmp_path)] == ["p.json", "_subscriptions.json"]
    assert len(mf.read_pages(tmp_path / "_subscriptions.json")) == 1  # named directly: read


def test_lazy_pages_parse_on_first_use(tmp_path: Path) -> None:
    page = Page({"value": [REG]}, "x", url="https://u", fetched_at="t", api_version="v")
    write_page(page, tmp_path / "p.json")
    lazy = mf.read_pages(tmp_path)[0]
    assert not lazy.loaded and "not parsed yet" in repr(lazy)
    assert lazy.api_version == "v" and lazy.loaded
    assert lazy.registries == [REG]
    eager = mf.read_pages(tmp_path, lazy=False)[0]
    assert eager.loaded and eager == lazy
    (tmp_path / "p.json").write_text("{broken")
    with pytest.raises(mf.PagesError, match="line 1 column 2"):
        mf.read_pages(tmp_path, lazy=False)


# --- odd input (issue 9, item 9) -----------------------------------------------------------


@pytest.mark.parametrize("responses", [None, [], [{"200": {"body": {"value": []}}}], "200", 5])
def test_spec_example_with_responses_not_an_object_is_a_pages_error(
    tmp_path: Path, responses: object
) -> None:
    (tmp_path / "ex.json").write_text(json.dumps({"parameters": {}, "responses": responses}))
    with pytest.raises(mf.PagesError, match="`responses` is a JSON") as info:
        mf.read_pages(tmp_path / "ex.json", lazy=False)
    assert "ex.json" in str(info.value)


@pytest.mark.parametrize(
    "block",
    [[1], "x", 5, {"url": 5}, {"fetched_at": ["2026"]}, {"api_version": {"v": 1}},
     {"source": True}],
)  # fmt: skip
def test_provenance_block_with_wrong_types_is_a_pages_error(tmp_path: Path, block: object) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"value": [REG], "_mlreg": block}))
    with pytest.raises(mf.PagesError, match="_mlreg"):
        mf.read_pages(tmp_path / "p.json", lazy=False)
    with pytest.raises(mf.PagesError, match="_mlreg"):  # lazily: when flatten reads it
        mf.flatten(mf.read_pages(tmp_path / "p.json"))


def test_provenance_block_with_nulls_is_fine(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"value": [REG], "_mlreg": {"url": None}}))
    page = mf.read_pages(tmp_path / "p.json", lazy=False)[0]
    assert page.url is None and page.registries == [REG]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x1c", "\x1d", "\x1e"])
def test_ndjson_lines_split_only_at_newlines(tmp_path: Path, separator: str) -> None:
    name = f"a{separator}b"
    line = json.dumps(dict(REG, name=name), ensure_ascii=False)
    if separator < " ":  # a raw control character is not valid JSON: keep it escaped
        line = json.dumps(dict(REG, name=name))
    (tmp_path / "p.ndjson").write_text(line + "\r\n" + json.dumps({"value": [REG]}) + "\n",
                                       encoding="utf-8")  # fmt: skip
    pages = mf.read_pages(tmp_path / "p.ndjson")
    assert [p.source for p in pages] == ["p.ndjson:2", "p.ndjson"]
    assert pages[1].registries[0]["name"] == name


@pytest.mark.parametrize("source", ["", " ", [""]])
def test_empty_path_is_an_error_not_the_working_directory(source: object) -> None:
    with pytest.raises(mf.PagesError, match="must be a path"):
        mf.read_pages(source)  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [None, 5, [5], [None], b"p.json", {"a": 1}])
def test_source_of_the_wrong_type_is_a_pages_error(source: object) -> None:
    with pytest.raises(mf.PagesError, match="path, a glob or a list"):
        mf.read_pages(source)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_nesting_too_deep_to_parse_is_a_pages_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text('{"value": [{"id": "x", "zz": ' + "[" * 100_000 + "]" * 100_000 + "}]}")
    with pytest.raises(mf.PagesError, match="too deeply") as info:
        mf.read_pages(path, lazy=False)
    assert "deep" in str(info.value)


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_lone_surrogate_escapes_and_nan_are_read(tmp_path: Path, suffix: str) -> None:
    # Valid JSON text that orjson refuses: the standard parser reads it.
    path = tmp_path / f"odd{suffix}"
    path.write_text('{"value": [{"id": "x", "name": "\\ud800", "zz": NaN}]}\n')
    registry = mf.read_pages(path, lazy=False)[0].registries[0]
    assert registry["name"] == "\ud800"


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_integers_beyond_64_bits_are_read_exactly(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big{suffix}"
    numbers = [-(2**63) - 1, 2**64, 10**30, 2**63 - 1]
    path.write_text(json.dumps({"value": [dict(REG, zz=numbers)]}) + "\n")
    registry = mf.read_pages(path, lazy=False)[0].registries[0]
    assert registry["zz"] == numbers and all(type(n) is int for n in registry["zz"])
    tables = mf.flatten(mf.read_pages(path))
    assert json.loads(tables.registries["extra"].iloc[0]) == {"zz": numbers}
