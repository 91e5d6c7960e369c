"""Where a lake lives: its root, the delta-rs storage options, and storage errors translated.

:mod:`mlreg_frames.lake` decides *what* goes where; this module opens the Delta tables under a
root (a local folder or an ``abfs[s]://`` / ``az://`` URL) and turns every failure of the
storage or of ``deltalake`` into :class:`~mlreg_frames.errors.LakeError` naming the root.

Storage options are those of delta-rs (``account_name``, ``account_key``, ``sas_token``,
``bearer_token``, ``endpoint``, ``allow_http``, ...), plus two conveniences translated here:

* ``connection_string``: an Azure Storage connection string (account, key or SAS, endpoint);
* ``credential``: an azure-identity credential (``DefaultAzureCredential()``, ...): a token
  for ``https://storage.azure.com`` is taken from it and passed as ``bearer_token``.

Example::

    >>> delta_options({"connection_string": "AccountName=acct;AccountKey=a2V5"})
    {'account_name': 'acct', 'account_key': 'a2V5'}
    >>> delta_options({"allow_http": True})
    {'allow_http': 'true'}
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError, LakeError
from .layout import PARTITION_COLUMN

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

__all__ = ["STORAGE_SCOPE", "LakeStore", "delta_options", "deltalake"]

STORAGE_SCOPE = "https://storage.azure.com/.default"
"""The token scope of Azure Storage (blob and ADLS Gen2)."""

_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")

_CONNECTION_KEYS = {
    "accountname": "account_name",
    "accountkey": "account_key",
    "sharedaccesssignature": "sas_token",
    "blobendpoint": "endpoint",
}


def deltalake() -> Any:
    """The ``deltalake`` module, or a LakeError saying how to install it."""
    try:
        import deltalake as module
    except ImportError as exc:
        raise LakeError(
            "the lake needs the deltalake package; install it with "
            "`pip install 'mlreg-frames[lake]'`"
        ) from exc
    return module


def delta_options(options: Mapping[str, Any] | None) -> dict[str, str]:
    """delta-rs storage options from ours: strings only, connection strings and credentials
    translated (see the module docstring)."""
    out: dict[str, str] = {}
    for key, value in (options or {}).items():
        if key == "connection_string":
            out.update(_from_connection_string(str(value)))
        elif key == "credential":
            out["bearer_token"] = _token(value)
        elif key == "anon":  # an adlfs option: delta-rs signs in with what it is given
            continue
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _from_connection_string(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        name = _CONNECTION_KEYS.get(key.strip().lower())
        if sep and name:
            out[name] = value.strip()
        elif key.strip().lower() == "usedevelopmentstorage" and value.strip().lower() == "true":
            out["use_emulator"] = "true"
    if out.get("endpoint", "").startswith("http://"):
        out["allow_http"] = "true"
    return out


def _token(credential: Any) -> str:
    get_token = getattr(credential, "get_token", None)
    if get_token is None:
        raise LakeError(
            f"storage option 'credential' must be an azure-identity credential (with "
            f"get_token), got {type(credential).__name__}; or pass 'bearer_token'"
        )
    token = get_token(STORAGE_SCOPE)
    value = getattr(token, "token", None)
    if not isinstance(value, str):
        raise LakeError(
            "the storage credential returned no token (an async credential? use the "
            "synchronous azure.identity classes)"
        )
    return value


def _errors() -> tuple[type[Exception], ...]:
    try:
        from deltalake.exceptions import DeltaError
    except ImportError:  # pragma: no cover - reported by deltalake() instead
        return (OSError,)
    return (OSError, DeltaError)


def _is_storage_error(exc: Exception) -> bool:
    """An error of the storage or of delta-rs (older releases raise a bare ``Exception``)."""
    module = type(exc).__module__ or ""
    return (
        isinstance(exc, _errors())
        or type(exc) is Exception
        or module.split(".")[0] in ("deltalake", "_internal")
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_QUERY = re.compile(r"\?[^\s]*")
# The first line of a native stack dump that delta-rs appends to some errors ("   0: <unknown>",
# "  12: start_thread"): it and all that follows are frames, shown with --debug only.
_FRAME = re.compile(r"^\s*\d+: \S")


def _detail(exc: BaseException) -> str:
    """An error of delta-rs on one line: its chain of causes, no stack frames, no colours, no
    URL queries (which may hold a SAS), cut to a readable length.

        >>> _detail(Exception("Kernel error: bad log\\n   0: <unknown>\\n  1: clone3\\n at x.c:1"))
        'Kernel error: bad log'
    """
    kept: list[str] = []
    for raw in str(exc).splitlines():
        if _FRAME.match(raw):
            break
        line = _ANSI.sub("", raw).strip(" ↳\t")
        if line:
            kept.append(line)
    text = _QUERY.sub("?…", " -> ".join(kept))
    return text if len(text) <= 500 else text[:499] + "…"


class LakeStore:
    """A lake root and its storage options: opens, creates and names its Delta tables.

    Args:
        root: a folder, or ``abfss://container@account.dfs.core.windows.net/path``,
            ``abfs://container/path`` (with ``account_name``), ``az://container/path``.
        storage_options: delta-rs options (see the module docstring).
    """

    def __init__(
        self, root: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
    ):
        if not isinstance(root, (str, os.PathLike)):
            raise InvalidArgumentError(
                f"the lake root must be a folder or an abfss:// URL, got {type(root).__name__}",
                argument="root",
            )
        text = os.fspath(root)
        if not isinstance(text, str) or not text:
            raise LakeError("the lake root is empty; give a folder or an abfss:// URL")
        self.root = text
        self.local = "://" not in text or text.startswith("file://")
        local_path = str(Path(text.removeprefix("file://")).absolute()) if self.local else ""
        escape = _PERCENT_ESCAPE.search(local_path)
        if escape is not None:
            # delta-rs writes to the literal path but reads it percent-decoded: a snapshot
            # would be written where it cannot be read back. Refused before anything is written.
            raise LakeError(
                f"lake {text!r}: the folder's path holds {escape.group()!r}, which deltalake "
                "reads as a percent escape and so cannot read back what it writes; choose a "
                "folder whose path has no '%' followed by two hex digits"
            )
        self.options = delta_options(storage_options)
        self.dl = deltalake()

    def __repr__(self) -> str:
        return f"LakeStore({self.root!r})"

    def uri(self, table: str) -> str:
        """The URI of one table of the lake (what ``deltalake.DeltaTable`` opens)."""
        if self.local:
            base = self.root.removeprefix("file://")
            return str(Path(base).absolute() / table)
        return f"{self.root.rstrip('/')}/{table}"

    def open(self, table: str) -> DeltaTable | None:
        """The table at its latest version, or ``None`` when it does not exist yet."""
        uri = self.uri(table)
        with self.errors(f"opening table {table}"):
            if self.local and not os.path.isdir(os.path.join(uri, "_delta_log")):
                return None
            try:
                return self.dl.DeltaTable(uri, storage_options=self.options or None)
            except self.dl.exceptions.TableNotFoundError:
                return None

    def dataset(self, table: DeltaTable, months: Iterable[str] | None = None) -> ds.Dataset:
        """The table as a pyarrow dataset, of the files of some months only when given.

        Pruning by partition before the dataset is built matters: building it costs time per
        file, and a year of daily appends before an optimize is 365 files.
        """
        options: dict[str, Any] = {}
        if self.local:
            # Arrow's own file system: deltalake's default one calls back into Python from
            # Arrow's I/O threads, which can abort the interpreter at exit.
            from pyarrow import fs

            # The table's folder from our own root, not from table_uri: deltalake gives that
            # as a file URL or, in some versions, as a percent-encoded path ("100%25%20lake").
            name = table.table_uri.rstrip("/").rsplit("/", 1)[-1]
            options["filesystem"] = fs.SubTreeFileSystem(self.uri(name), fs.LocalFileSystem())
        if months is not None:
            options["partitions"] = [(PARTITION_COLUMN, "in", sorted(set(months)))]
        with warnings.catch_warnings():
            # deltalake >= 1.5 calls it file_pruning_predicate; `partitions` still works
            warnings.simplefilter("ignore", DeprecationWarning)
            return table.to_pyarrow_dataset(**options)

    def exists(self) -> bool:
        """Whether the root exists (always ``True`` for URLs: containers are checked on use)."""
        return not self.local or os.path.isdir(self.root.removeprefix("file://"))

    @contextlib.contextmanager
    def errors(self, action: str, snapshot: str | None = None) -> Iterator[None]:
        """Turn storage and Delta failures inside the block into a LakeError."""
        try:
            yield
        except LakeError:
            raise
        except Exception as exc:
            if not _is_storage_error(exc):
                raise
            detail = _detail(exc)
            todo = (
                "its Delta log (_delta_log) is damaged: restore the broken commit file from a copy"
                if "json error" in detail.lower()
                else "check that the location exists, is a lake, and that the credentials allow "
                "reading and writing"
            )
            raise LakeError(
                f"lake {self.root!r}: {action} failed: {type(exc).__name__}: {detail}; {todo}",
                root=self.root,
                snapshot=snapshot,
            ) from exc
