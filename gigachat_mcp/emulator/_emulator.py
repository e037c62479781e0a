"""The Emulator: lifecycle, where it listens, and the controls tests use.

Private keys never outlive the emulator's process, on every way a process ends short of SIGKILL: the server key
is deleted as soon as the TLS context holds it; stop() removes the temp dir (and any client key written into a
cert_dir); an atexit hook does the same for an emulator nobody stopped (a notebook's, a kernel shut down). A
signal's default action skips atexit, so the commands that own a process turn SIGTERM/SIGHUP into an orderly exit.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._api import API
from ._certs import CertificateSet, make_certificates
from ._faults import Fault
from ._records import RecordedRequest, StreamRecord
from ._server import Server

__all__ = ["DEFAULT_CREDENTIALS", "Emulator"]

DEFAULT_CREDENTIALS = base64.b64encode(b"emulator-client-id:emulator-client-secret").decode()
DEFAULT_USER, DEFAULT_PASSWORD = "emulator", "emulator-password"


class Emulator:
    """A running emulator. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        *,
        tls: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: dict[str, str] | None = None,
        users: dict[str, str] | None = None,
        token_ttl: float = 1800.0,
        chunk_delay: float = 0.0,
        stream_limit: int | None = None,
        expires_at_unit: str = "ms",
        cert_hostnames: tuple[str, ...] | None = None,
        cert_expired: bool = False,
        accept_client_certs: bool = False,
        cert_dir: str | Path | None = None,
        latency: float = 0.0,
        batch_delay: float = 1.0,
    ) -> None:
        self.tls = tls
        self.host = host
        self._port = port
        self._cert_hostnames = cert_hostnames or ("localhost", "127.0.0.1", "::1")
        self._cert_expired = cert_expired
        self._cert_dir = Path(cert_dir) if cert_dir else None
        self._own_dir: str | None = None
        self.certificates: CertificateSet | None = None
        self.api = API(
            credentials=credentials or {DEFAULT_CREDENTIALS: "GIGACHAT_API_PERS"},
            users=users or {DEFAULT_USER: DEFAULT_PASSWORD},
            token_ttl=token_ttl,
            chunk_delay=chunk_delay,
            stream_limit=stream_limit,
            expires_at_unit=expires_at_unit,
            accept_client_certs=accept_client_certs,
        )
        self.api.latency = latency
        self.api.batch_delay = batch_delay
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        try:
            return self._start()
        except BaseException:  # an interrupt half-way must not leave a temp dir or a key behind
            self.stop()
            raise

    def _start(self) -> Emulator:
        context = None
        if self.tls:
            directory = self._cert_dir or Path(self._temp_dir())
            atexit.register(self._remove_files)
            self.certificates = make_certificates(directory, hostnames=self._cert_hostnames,
                                                  expired=self._cert_expired,
                                                  client_certificate=self.api.accept_client_certs)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                context.load_cert_chain(self.certificates.server_cert, self.certificates.server_key)
            finally:
                self.certificates.server_key.unlink(missing_ok=True)  # held in memory from here on
            if self.api.accept_client_certs:
                context.verify_mode = ssl.CERT_OPTIONAL
                context.load_verify_locations(cafile=self.certificates.ca_file)
        self._server = Server((self.host, self._port), self.api, context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="gigachat-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        self._remove_files()
        atexit.unregister(self._remove_files)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _temp_dir(self) -> str:
        self._own_dir = tempfile.mkdtemp(prefix="gigachat-emulator-")  # 0700
        return self._own_dir

    def _remove_files(self) -> None:
        """The temp dir with everything in it; in a caller's cert_dir, only the private keys."""
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None
        elif self.certificates is not None:
            for key in self.certificates.private_keys:
                with contextlib.suppress(OSError):
                    key.unlink(missing_ok=True)

    # --- where it is ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use it as a context manager")
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The new-host style API root (…/v1)."""
        return f"{self.origin}/v1"

    @property
    def legacy_base_url(self) -> str:
        """The legacy-host style API root (…/api/v1)."""
        return f"{self.origin}/api/v1"

    @property
    def auth_url(self) -> str:
        return f"{self.origin}/api/v2/oauth"

    @property
    def ca_file(self) -> str | None:
        """The throwaway CA to trust (GIGACHAT_CA_BUNDLE_FILE), when serving HTTPS."""
        return str(self.certificates.ca_file) if self.certificates else None

    credentials = DEFAULT_CREDENTIALS
    user = DEFAULT_USER
    password = DEFAULT_PASSWORD

    def client_settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments that point GigaChat(...) / AsyncGigaChat(...) at this emulator."""
        settings: dict[str, Any] = {"base_url": self.base_url, "auth_url": self.auth_url,
                                    "credentials": self.credentials}
        if self.ca_file:
            settings["ca_bundle_file"] = self.ca_file
        settings.update(overrides)
        return settings

    def env(self, **overrides: str) -> dict[str, str]:
        """GIGACHAT_* variables that point any client (this one, the official SDK, a subprocess) here."""
        return {f"GIGACHAT_{k.upper()}": str(v) for k, v in self.client_settings(**overrides).items()}

    # --- test controls -------------------------------------------------------------------------------------

    def add_fault(self, endpoint: str = "chat", **fields: Any) -> Fault:
        """Queue a fault for the next request(s) to `endpoint`; see Fault for the fields."""
        fault = Fault(endpoint=endpoint, **fields)
        self.api.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.api.faults.clear()

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as a key rotation or a server restart would."""
        self.api.revoke_tokens()

    def expire_tokens(self) -> None:
        """Make every issued token expired now (the server answers 401 'Token has expired')."""
        self.api.expire_tokens()

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token ever handed out (revoked ones too), e.g. to check none leaked into logs."""
        return self.api.issued_tokens()

    @property
    def token_ttl(self) -> float:
        return self.api.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        self.api.token_ttl = seconds

    @property
    def chunk_delay(self) -> float:
        return self.api.chunk_delay

    @chunk_delay.setter
    def chunk_delay(self, seconds: float) -> None:
        self.api.chunk_delay = seconds

    @property
    def latency(self) -> float:
        """Seconds every API request (not the token routes) waits before it is answered, so clients see real
        concurrency; also settable from another process: POST /_emulator/settings {"latency": 0.2}."""
        return self.api.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.api.latency = seconds

    @property
    def batch_delay(self) -> float:
        """Seconds a batch takes from created (half of it) through in_progress to completed."""
        return self.api.batch_delay

    @batch_delay.setter
    def batch_delay(self, seconds: float) -> None:
        self.api.batch_delay = seconds

    @property
    def max_in_flight(self) -> int:
        """The most API requests answered at once since the start or `reset_concurrency()` (GET
        /_emulator/concurrency from another process)."""
        return self.api.max_in_flight

    def reset_concurrency(self) -> None:
        self.api.reset_concurrency()

    @property
    def oauth_calls(self) -> int:
        return self.api.oauth_calls

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.api.requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [r for r in self.api.requests if r.endpoint == endpoint]

    @property
    def streams(self) -> list[StreamRecord]:
        return list(self.api.streams)

    @property
    def active_streams(self) -> int:
        return self.api.active_streams()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll `predicate` until it holds (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

