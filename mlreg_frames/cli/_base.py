"""The root ``mlreg-frames`` click group and the error handling every command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import MlregFramesError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["handle_errors", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlreg-frames")
def main() -> None:
    """Azure Machine Learning registries as tidy pandas tables and Parquet."""


def handle_errors(func: F) -> F:
    """Turn an MlregFramesError or OSError into ``Error: ...`` on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MlregFramesError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:  # an --out folder that cannot be created or written, ...
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(
                f"{where}{exc.strerror or exc}; check the path and its permissions"
            ) from exc

    return wrapper  # type: ignore[return-value]
