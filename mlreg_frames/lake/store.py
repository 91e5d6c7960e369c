"""The byte-level storage under a snapshot lake: local folders and fsspec URLs, same verbs.

:mod:`mlreg_frames.lake` decides *what* goes where; this module only knows how to put bytes
somewhere so that the lake's guarantees hold on each kind of storage:

* **atomic publish** (``write_atomic``): a reader sees the old object or the complete new
  one. Local: temporary file in the same folder, fsync, ``os.replace``. Object stores
  (Azure Blob / ADLS, memory): one PUT, which the service makes visible all at once.
* **exclusive create** (``create_exclusive``): of two writers racing for the same name,
  exactly one wins. Local: ``O_CREAT | O_EXCL``. Azure: a conditional PUT
  (``If-None-Match: *``) through ``pipe_file(mode="create")``.
* **directory rename** (``rename_dir``), local only: ``os.rename`` of a folder is atomic, so
  a staged partition appears complete or not at all.

Every failure of the storage (a missing package, an unreachable account, a permission) is
translated here into :class:`~mlreg_frames.errors.LakeError` naming the root.

Example::

    >>> store = LakeStore("memory://demo-lake")
    >>> store.write_atomic("_snapshots/x.json", b"{}")
    >>> store.list_dir("_snapshots")
    ['x.json']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import LakeError

__all__ = ["LakeStore"]


def _storage_errors() -> tuple[type[Exception], ...]:
    try:
        from azure.core.exceptions import AzureError
    except ImportError:  # pragma: no cover - azure-core comes with azure-identity
        return (OSError,)
    return (OSError, AzureError)


_STORAGE_ERRORS = _storage_errors()
_OPEN_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, *_STORAGE_ERRORS)


class LakeStore:
    """A lake root (local path or fsspec URL) with the few storage verbs the lake needs.

    Args:
        root: a folder, ``file://...``, ``memory://...``, ``abfs://container/path`` or
            ``abfs://container@account.dfs.core.windows.net/path``.
        storage_options: passed to the fsspec filesystem (for ``abfs``: ``account_name``,
            ``account_key``, ``sas_token``, ``connection_string``, ``credential``...).

    Raises:
        LakeError: the URL's filesystem is unknown or its package is not installed.
    """

    def __init__(
        self, root: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
    ):
        self.root = os.fspath(root)
        try:
            from fsspec.core import url_to_fs
            from fsspec.implementations.local import LocalFileSystem
        except ImportError as exc:
            raise LakeError(
                "the lake needs fsspec; install it with `pip install 'mlreg-frames[lake]'`",
                root=self.root,
            ) from exc
        try:
            fs, base = url_to_fs(self.root, **dict(storage_options or {}))
        except ImportError as exc:
            raise LakeError(
                f"cannot open lake {self.root!r}: {exc}; for abfs:// URLs install "
                "`pip install 'mlreg-frames[lake]'` (adlfs)",
                root=self.root,
            ) from exc
        except _OPEN_ERRORS as exc:
            raise LakeError(
                f"cannot open lake {self.root!r}: {exc}; check the URL and storage_options",
                root=self.root,
            ) from exc
        self.fs = fs
        self.base = str(base).rstrip("/")
        self.local = isinstance(fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"LakeStore({self.root!r})"

    def path(self, rel: str) -> str:
        """The filesystem path of ``rel`` (a ``/``-separated path under the root)."""
        return f"{self.base}/{rel}" if rel else self.base

    @contextlib.contextmanager
    def errors(self, action: str, snapshot: str | None = None) -> Iterator[None]:
        """Turn storage failures inside the block into a LakeError saying what failed."""
        try:
            yield
        except LakeError:
            raise
        except _STORAGE_ERRORS as exc:
            raise LakeError(
                f"lake {self.root!r}: {action} failed: {type(exc).__name__}: {exc}; check "
                "that the location exists and the credentials allow reading and writing",
                root=self.root,
                snapshot=snapshot,
            ) from exc

    def _refresh(self, rel: str) -> None:
        # Object-store filesystems cache listings; another writer may have added files.
        self.fs.invalidate_cache(self.path(rel))

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` exists (file or folder)."""
        self._refresh(rel.rpartition("/")[0])
        return bool(self.fs.exists(self.path(rel)))

    def list_dir(self, rel: str) -> list[str]:
        """Sorted names (not paths) directly under ``rel``; empty when it does not exist."""
        self._refresh(rel)
        try:
            entries = self.fs.ls(self.path(rel), detail=False)
        except FileNotFoundError:
            return []
        names = {str(e).rstrip("/").rpartition("/")[2] for e in entries}
        names.discard("")
        return sorted(names)

    def read_many(self, rels: list[str]) -> dict[str, bytes]:
        """The bytes of several files, fetched concurrently where the filesystem can."""
        if not rels:
            return {}
        paths = [self.path(r) for r in rels]
        if self.local:
            return {r: self.fs.cat_file(p) for r, p in zip(rels, paths, strict=True)}
        got = self.fs.cat(paths, on_error="raise")
        if not isinstance(got, dict):
            got = {paths[0]: got}
        out: dict[str, bytes] = {}
        for rel, path in zip(rels, paths, strict=True):
            data = got.get(path)
            if data is None:
                data = got.get(self.fs._strip_protocol(path))
            if data is None:
                raise FileNotFoundError(path)
            out[rel] = bytes(data)
        return out

    def write_many(self, files: Mapping[str, bytes]) -> None:
        """Write new files (not atomic as a group); concurrent uploads on object stores."""
        if self.local:
            for rel, data in files.items():
                path = self.path(rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            return
        self.fs.pipe({self.path(rel): data for rel, data in files.items()})

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Publish ``rel``: readers see either no/old object or the complete ``data``."""
        path = self.path(rel)
        if not self.local:
            self.fs.pipe_file(path, data)
            return
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{os.path.basename(path)}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(folder)

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Create ``rel`` only if it does not exist; ``False`` when someone else has it."""
        path = self.path(rel)
        if not self.local:
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return True

    def rename_dir(self, src: str, dst: str) -> None:
        """Move folder ``src`` to ``dst`` (which must not exist) in one step; local only."""
        if not self.local:
            raise LakeError("rename_dir is only atomic on local folders", root=self.root)
        target = self.path(dst)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(self.path(src), target)
        _fsync_dir(os.path.dirname(target))

    def remove(self, rel: str, *, recursive: bool = False) -> bool:
        """Delete a file (or a folder with ``recursive``); ``False`` when it was not there."""
        path = self.path(rel)
        if self.local:
            if os.path.isdir(path) and recursive:
                shutil.rmtree(path, ignore_errors=False)
                return True
            try:
                os.unlink(path)
            except (FileNotFoundError, NotADirectoryError):
                return False
            return True
        try:
            self.fs.rm(path, recursive=recursive)
        except FileNotFoundError:
            return False
        self._refresh(rel.rpartition("/")[0])
        return True


def _fsync_dir(folder: str) -> None:
    # Makes a rename durable across power loss; not possible on every platform (Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
