"""``mlreg-frames emulator``: run the local ARM emulator (tests, demos, your own CI)."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..emulator.server import ArmEmulator
from ..sources.auth import is_loopback
from ._base import handle_errors, main
from ._options import COUNT, PORT_OR_ANY, FiniteFloat, NonEmpty
from ._text import plural

__all__ = ["emulator_command"]


@main.command("emulator")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep it on loopback (clients send http only there).",
)
@click.option(
    "--port", type=PORT_OR_ANY, default=8080, show_default=True, help="0 picks a free port."
)
@click.option(
    "--latency-ms",
    type=FiniteFloat(min=0),
    default=0.0,
    show_default=True,
    help="Added to every request.",
)
@click.option("--fleet", type=COUNT, default=None, help="Serve N generated registries.")
@click.option("--subscriptions", type=COUNT, default=3, show_default=True, help="For --fleet.")
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="For --fleet."
)
@click.option("--pages", type=click.Path(exists=True), default=None, help="Serve these pages.")
@click.option(
    "--page-size", type=COUNT, default=10, show_default=True, help="Registries per list page."
)
@click.option("--pages-per-scope", type=COUNT, default=None, help="Cut each scope into N pages.")
@click.option(
    "--token", type=NonEmpty(), default=None, help="Accept only this bearer token (default: any)."
)
@handle_errors
def emulator_command(
    host: str,
    port: int,
    latency_ms: float,
    fleet: int | None,
    subscriptions: int,
    seed: int,
    pages: str | None,
    page_size: int,
    pages_per_scope: int | None,
    token: str | None,
) -> None:
    """Run the local ARM emulator until interrupted (tests, demos, your own CI).

    Example: mlreg-frames emulator --port 8080 --fleet 500 --subscriptions 20 --latency-ms 50
    """
    if fleet is not None and pages is not None:
        raise click.UsageError("pass --fleet or --pages, not both")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "latency": latency_ms / 1000,
        "page_size": page_size,
        "pages_per_scope": pages_per_scope,
        "token": token,
    }
    if fleet is not None:
        arm = ArmEmulator.from_fleet(fleet, subscriptions, seed=seed, **options)
    elif pages is not None:
        arm = ArmEmulator.from_pages(pages, **options)
    else:
        arm = ArmEmulator(**options)
    if not _is_loopback_host(host):  # said once it listens: a bad address is only its error
        click.echo(
            f"warning: listening on {host} exposes the emulator (and any --token) beyond this "
            "machine; use 127.0.0.1 unless you mean it",
            err=True,
        )
    click.echo(
        f"ARM emulator on {arm.endpoint} ({plural(len(arm.registries), 'registry')}, "
        f"{plural(len(arm.subscriptions), 'subscription')}); Ctrl-C stops it"
    )
    # no Azure sign-in against the emulator: --token-env takes any token (or the --token)
    value = "'<the --token>'" if token else "x"
    click.echo("fetch from it without Azure sign-in (--token-env VAR, VAR holding any token):")
    click.echo(
        f"  TOKEN={value} mlreg-frames fetch --endpoint {arm.endpoint} --token-env TOKEN --out out/"
    )
    sys.stdout.flush()
    try:
        arm.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        arm.close()


def _is_loopback_host(host: str) -> bool:
    """``127.0.0.1``, ``[::1]``, ``localhost``: addresses only this machine reaches."""
    return is_loopback(host.strip("[]"))
