"""The root ``mlreg-frames`` click group and the error handling every command shares.

No invocation ends in a traceback. Every error is one line on stderr and a non-zero exit:

- bad options and arguments (click's usage errors): ``Error: ...`` and exit 2, with a
  pointer to ``--help`` on the same line instead of click's usage block;
- a :class:`~mlreg_frames.errors.MlregFramesError`, or an ``OSError`` (a file-system or
  network failure, each named for what it is): ``Error: ...`` and exit 1;
- anything else is a bug: ``internal error: <type>: <message> (rerun with --debug and report
  it)`` and exit 1 (under ``--debug``: the traceback, then ``... (report it with the
  traceback above)``).

``--debug`` (before or after the command name) or the environment variable
``MLREG_FRAMES_DEBUG=1`` shows the full traceback (with the chained causes) instead, and
turns on DEBUG logging of the package and of azure-identity.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import socket
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from .. import __version__
from ..errors import MlregFramesError, NotRegistriesWarning

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["DEBUG_ENV", "debug_enabled", "describe_os_error", "handle_errors", "main", "one_line"]

DEBUG_ENV = "MLREG_FRAMES_DEBUG"
"""Environment variable that turns on ``--debug`` (any value but empty, 0, false, no)."""

_DEBUG_LOGGERS = ("mlreg_frames", "azure.identity")


class _RunState:
    """This run's debug flag and the logging it turned on (undone when the run ends)."""

    def __init__(self) -> None:
        self.debug = False
        self.handler: logging.Handler | None = None
        self.levels: dict[str, int] = {}


_state = _RunState()


def debug_enabled() -> bool:
    """Whether this run shows tracebacks (``--debug`` or :data:`DEBUG_ENV`)."""
    value = os.environ.get(DEBUG_ENV, "").strip().lower()
    return _state.debug or value not in ("", "0", "false", "no")


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _state.debug = True
        _configure_logging()


def _configure_logging() -> None:
    """DEBUG logs of the package (and azure-identity's full credential chain) on stderr."""
    if _state.handler is not None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    for name in _DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        _state.levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    _state.handler = handler


def _restore_logging() -> None:
    """Undo :func:`_configure_logging` (the CLI may run inside a longer process: tests)."""
    if _state.handler is None:
        return
    for name in _DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        logger.removeHandler(_state.handler)
        logger.setLevel(_state.levels.get(name, logging.NOTSET))
    _state.handler = None


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help=f"Show the full traceback and debug logs on errors (or set {DEBUG_ENV}=1).",
    )


def one_line(text: str) -> str:
    """``text`` with its lines joined by ``" | "``: an error message fit for one stderr line.

    A native stack dump that a library appended (lines ``0: <unknown>``, ``1: ...``, as
    delta-rs does) is dropped: ``--debug`` shows it with the traceback.

    Example::

        >>> one_line("a failed\\n  details\\n")
        'a failed | details'
        >>> one_line("Kernel error: bad\\n   0: <unknown>\\n  1: clone3\\n   at x.c:1:0")
        'Kernel error: bad'
        >>> one_line("open failed: bad -> 0: <unknown> -> 1: clone3; check the path")
        'open failed: bad; check the path'
    """
    parts = []
    for line in str(text).splitlines():
        if _STACK_START.match(line):
            break
        parts.append(" ".join(_JOINED_STACK.sub("", line).split()))
    return " | ".join(part for part in parts if part)


# The first frame of a native stack dump: "   0: <unknown>", "0: std::backtrace", ... (also
# inside a line a library already joined: "... -> 0: <unknown> -> 1: ...").
_STACK_START = re.compile(r"^\s*0: \S")
_JOINED_STACK = re.compile(r" -> 0: \S.*?(?=; |$)")


def describe_os_error(exc: OSError) -> str:
    """Say what an ``OSError`` is about: the network (a connection, a name, a timeout) or a path.

    Example::

        >>> describe_os_error(FileNotFoundError(2, "No such file or directory", "x.json"))
        'x.json: No such file or directory; check the path and its permissions'
        >>> describe_os_error(ConnectionRefusedError(111, "Connection refused"))
        'network error: Connection refused; check the address, the network and any proxy'
    """
    requests = sys.modules.get("requests")  # not imported: exc is none of its errors
    http_error = requests.RequestException if requests is not None else ()
    if isinstance(exc, (http_error, socket.gaierror, TimeoutError)) or (
        isinstance(exc, ConnectionError) or exc.errno in _NETWORK_ERRNOS
    ):
        return (
            f"network error: {one_line(exc.strerror or str(exc)) or type(exc).__name__}; "
            "check the address, the network and any proxy"
        )
    if exc.filename is None and exc.errno is None:
        return f"{type(exc).__name__}: {one_line(str(exc))}"
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{one_line(exc.strerror or str(exc))}; check the path and its permissions"


_NETWORK_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ENETDOWN",
        "ETIMEDOUT",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
    )
    if hasattr(errno, name)
)


class _Group(click.Group):
    """A click group whose commands all take ``--debug`` and whose errors are one line.

    Its sub-groups (``lake``) are of this class too, so ``lake repair ROOT --debug`` works as
    the README promises for every ``CMD ... --debug``.
    """

    group_class = type  # click: sub-groups made with @group.group() are of this class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, tuple[str, str]] = {}
        """Name -> (module that defines the command, its one-line help): imported on use."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(p.name == "debug" for p in cmd.params):
            cmd.params.append(_debug_option())
        lazy = self.lazy_commands.get(name or cmd.name or "")
        if lazy is not None and cmd.short_help is None:
            cmd.short_help = lazy[1]
        super().add_command(cmd, name)

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if cmd_name not in self.commands and lazy is not None:
            import importlib

            importlib.import_module(lazy[0])  # the module adds its commands to this group
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from :attr:`lazy_commands`, importing no command."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands and name not in self.commands:
                rows.append((name, self.lazy_commands[name][1]))
            elif (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        _state.debug = False
        if debug_enabled():
            _configure_logging()
        try:
            with warnings.catch_warnings():
                # the package's own warnings (items skipped as not registries) are news for
                # the user, not a fault: one line each, whatever the interpreter's filters
                warnings.filterwarnings("default", category=NotRegistriesWarning)
                warnings.showwarning = _show_warning
                return self._run(args, prog_name, complete_var, standalone_mode, **extra)
        finally:
            _restore_logging()

    def _run(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        standalone_mode: bool,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # the caller handles exceptions itself
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare `mlreg-frames`: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            _fail(_usage_line(exc), exc.exit_code, exc)
        except click.ClickException as exc:
            _fail(f"Error: {one_line(exc.format_message())}", exc.exit_code, exc)
        except click.Abort as exc:
            _fail("Aborted!", 1, exc)
        except KeyboardInterrupt as exc:
            _fail("Aborted!", 130, exc)
        except MlregFramesError as exc:
            _fail(f"Error: {one_line(str(exc))}", 1, exc)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed early (`| head`): not an error
                sys.exit(1)
            _fail(f"Error: {describe_os_error(exc)}", 1, exc)
        except Exception as exc:
            text = one_line(str(exc))
            todo = (
                "report it with the traceback above"
                if debug_enabled()
                else ("rerun with --debug and report it")
            )
            _fail(
                f"internal error: {type(exc).__name__}{': ' + text if text else ''} ({todo})",
                1,
                exc,
            )
        sys.exit(code if isinstance(code, int) else 0)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A warning as one line on stderr (``warning: ...``), without the source line."""
    click.echo(f"warning: {one_line(str(message))}", err=True)


def _usage_line(exc: click.UsageError) -> str:
    hint = ""
    if exc.ctx is not None:
        hint = f" (see '{exc.ctx.command_path} --help')"
    return f"Error: {one_line(exc.format_message())}{hint}"


_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s'\"]+")


def _fail(line: str, code: int, exc: BaseException) -> NoReturn:
    if debug_enabled():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    # the library scrubs tokens from its errors; this line also covers ones it never saw
    click.echo(_BEARER.sub(r"\1 ***", line), err=True)
    sys.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
# the version the package declares, not importlib.metadata's (a scan of every installed
# distribution: seconds on a busy machine); tests/test_cli_help.py checks that they agree
@click.version_option(version=__version__, prog_name="mlreg-frames")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help=f"Show the full traceback and debug logs on errors (or set {DEBUG_ENV}=1).",
)
def main() -> None:
    """Azure Machine Learning registries as tidy pandas tables and Parquet."""


def handle_errors(func: F) -> F:
    """Turn an MlregFramesError or OSError into ``Error: ...`` on stderr and exit status 1.

    The top-level handler of :data:`main` does the same for every command; this keeps a
    command's own messages when it is invoked on its own (``standalone_mode=False``).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MlregFramesError as exc:
            raise click.ClickException(one_line(str(exc))) from exc
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            raise click.ClickException(describe_os_error(exc)) from exc

    return wrapper  # type: ignore[return-value]
