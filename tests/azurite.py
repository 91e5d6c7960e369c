"""A pytest plugin: the Azurite blob emulator on 127.0.0.1 for the whole session.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.azurite"]``. The fixture
``azurite`` starts ``node_modules/.bin/azurite-blob`` (installed by ``npm ci``) on a free port,
in memory, with telemetry off, waits until it answers, and stops it after the session.
Without ``node_modules`` the tests that use it skip, unless the ``CI`` environment variable is
set: in CI a missing emulator is a failure, so the lake's Azure path is never silently untested.

delta-rs reaches Azurite through an explicit ``endpoint`` (``http://127.0.0.1:<port>/<account>``,
path-style as Azurite serves it) with ``allow_http``; its ``use_emulator`` option would work too,
but only on the fixed port 10000 or through the process-wide ``AZURITE_BLOB_STORAGE_URL``.

Example::

    def test_round_trip(azurite):
        root = f"abfs://{azurite.new_container()}/lake"
        lake.append(tables, root, storage_options=azurite.storage_options)
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AZURITE_BLOB = REPO / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's well-known development key (public, documented by Microsoft; not a secret)."""

_LISTENING = re.compile(r"successfully listens on https?://127\.0\.0\.1:(\d+)")
_START_TIMEOUT = 60.0


@dataclass
class Azurite:
    """A running Azurite blob service and the ways to reach it."""

    port: int
    process: subprocess.Popen[str] = field(repr=False)
    drain: threading.Thread = field(repr=False)
    tls: bool = False

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    @property
    def storage_options(self) -> dict[str, str]:
        """delta-rs options authenticating with the account key."""
        return {
            "account_name": ACCOUNT,
            "account_key": ACCOUNT_KEY,
            "endpoint": self.endpoint,
            "allow_http": "true",
        }

    def sas_storage_options(self) -> dict[str, str]:
        """Options authenticating with an account SAS, as a connection string (no key)."""
        from datetime import datetime, timedelta, timezone

        from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

        sas = generate_account_sas(
            ACCOUNT,
            ACCOUNT_KEY,
            resource_types=ResourceTypes(service=True, container=True, object=True),
            permission=AccountSasPermissions(
                read=True, write=True, delete=True, list=True, add=True, create=True
            ),
            expiry=datetime.now(timezone.utc) + timedelta(hours=1),
        )
        return {
            "account_name": ACCOUNT,
            "connection_string": f"BlobEndpoint={self.endpoint};SharedAccessSignature={sas}",
        }

    def new_container(self) -> str:
        """Create an empty container with a unique name and return the name."""
        from azure.storage.blob import BlobServiceClient

        name = f"lake-{uuid.uuid4().hex[:12]}"
        with BlobServiceClient.from_connection_string(self.connection_string) as client:
            client.create_container(name)
        return name


def _drain(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def _start(workdir: Path, *extra: str) -> Azurite:
    process = subprocess.Popen(
        [
            str(AZURITE_BLOB),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "256",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
            *extra,
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    drain = threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True)
    drain.start()
    seen: list[str] = []
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        match = _LISTENING.search(line)
        if match:
            azurite = Azurite(int(match.group(1)), process, drain, "--cert" in extra)
            _wait_until_answering(azurite)
            return azurite
    _stop(process, drain)
    raise RuntimeError("Azurite did not start:\n" + "".join(seen))


def _wait_until_answering(azurite: Azurite) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", azurite.port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(process: subprocess.Popen[str], drain: threading.Thread) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    drain.join(timeout=10)  # reads to end of file once the process is gone
    if process.stdout is not None:
        process.stdout.close()


def _require_azurite() -> None:
    if not AZURITE_BLOB.exists():
        reason = (
            f"Azurite is not installed ({AZURITE_BLOB.relative_to(REPO)} missing); "
            "run `npm ci` in the repository root"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 it signed (and its key), valid a day.

    Returns the CA (what clients trust) and the server's key; the server's certificate
    chain is written next to them. rustls (delta-rs) refuses a CA certificate used as the
    server's own, hence the two levels.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject: str, issuer: x509.Name, public_key, signer, *, ca: bool):
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): key identifiers and key usage
        # must be there, as in any real certificate chain.
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=ca is False,
                    key_cert_sign=ca,
                    crl_sign=ca,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azurite test CA")])
    ca = build("azurite test CA", ca_name, ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = build("127.0.0.1", ca_name, key.public_key(), ca_key, ca=False)
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, key_path


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """The Azurite blob service over http (skips without ``node_modules``, fails so in CI)."""
    _require_azurite()
    emulator = _start(tmp_path_factory.mktemp("azurite"))
    try:
        yield emulator
    finally:
        _stop(emulator.process, emulator.drain)


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Azurite, Path]]:
    """Azurite over https with Azure AD (bearer token) checks, and the certificate to trust.

    The SDKs refuse bearer tokens over plain http, so this one speaks TLS with a throw-away
    certificate of a throw-away CA; clients trust the CA through ``SSL_CERT_FILE``.
    """
    _require_azurite()
    workdir = tmp_path_factory.mktemp("azurite-oauth")
    ca, key = _self_signed(workdir)
    cert = workdir / "cert.pem"
    emulator = _start(workdir, "--oauth", "basic", "--cert", str(cert), "--key", str(key))
    try:
        yield emulator, ca
    finally:
        _stop(emulator.process, emulator.drain)
