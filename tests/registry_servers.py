"""Real servers for the registry tests, all on 127.0.0.1 and started by the tests.

- :class:`Registry`: the distribution registry (Debian's ``docker-registry``) with a config file
  written here: filesystem storage in a temporary directory, the access log on (its request lines
  are parsed by :meth:`Registry.requests`), and optionally TLS, htpasswd or token auth.
- :class:`TokenServer`: a Docker token-spec server issuing RS256 JWTs whose signing certificate
  the registry trusts (``rootcertbundle``), after checking Basic credentials.
- :class:`FaultProxy`: a plain HTTP proxy in front of a registry that injects faults on request
  (a 5xx, a 429 with Retry-After, a connection cut mid-body, a corrupted body) and records every
  request with its headers.
- :class:`ReferrersFront`: a plain HTTP front to a registry adding the OCI 1.1 referrers API
  (answered from the registry's storage) and ``OCI-Subject``, with per-path overrides for a
  hostile registry.
- :func:`make_ca`: a CA and a server certificate for 127.0.0.1, made with ``cryptography``.
- :class:`Moto`: ``moto_server`` (AWS APIs: ECR) on 127.0.0.1 as a subprocess, with its request log.
- :class:`Postgres`: a private PostgreSQL cluster (``initdb`` + ``postgres``) on 127.0.0.1, trust auth.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import http.server
import ipaddress
import json
import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Moto:
    """``moto_server -H 127.0.0.1 -p PORT``; its stdout/stderr (the request log) in ``log``."""

    url: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, work: Path) -> Moto:
        port = free_port()
        log = work / "moto.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_port(port, proc)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        return cls(f"http://127.0.0.1:{port}", log, proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Postgres:
    """A throwaway PostgreSQL cluster: ``initdb`` into a temporary directory, ``postgres`` on
    127.0.0.1:<free port>, trust authentication for the superuser ``hullscan``. PostgreSQL refuses
    to run as root: as root, both run as the ``postgres`` system user (``runuser``)."""

    def __init__(self, bindir: Path) -> None:
        import os
        import shutil
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="hullscan-pg-"))  # outside pytest's 0700 tmp dirs
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        subprocess.run(
            [
                *self._as,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "hullscan",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        self.log = self.dir / "postgres.log"
        self.proc = subprocess.Popen(
            [
                *self._as,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "fsync=off",
                "-c",
                f"log_directory={self.dir}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(self.port, self.proc, timeout=60)
        except BaseException:
            self.stop()
            raise
        self.url = f"postgresql+psycopg://hullscan@127.0.0.1:{self.port}/postgres"

    def database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=hullscan dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://hullscan@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        import shutil

        if self.proc.poll() is None:
            self.proc.terminate()  # runuser passes SIGTERM on: a smart shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class Tls:
    ca_cert: Path
    cert: Path
    key: Path


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def make_ca(out: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hullscan test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (out / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (out / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, out / "server.key")
    return Tls(out / "ca.pem", out / "server.pem", out / "server.key")


def htpasswd(path: Path, users: dict[str, str]) -> Path:
    """An htpasswd file with bcrypt hashes, written by apache2-utils' htpasswd."""
    for i, (user, password) in enumerate(users.items()):
        args = ["htpasswd", "-B", "-b"]
        if i == 0:
            args.append("-c")
        subprocess.run([*args, str(path), user, password], check=True, capture_output=True)
    return path


class Registry:
    """``docker-registry serve`` on 127.0.0.1:<free port> with a config written here."""

    def __init__(
        self,
        work: Path,
        *,
        tls: Tls | None = None,
        htpasswd_file: Path | None = None,
        token: dict[str, str] | None = None,
    ) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.port = free_port()
        self.tls = tls
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = work / "registry.log"
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  formatter: text",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {work / 'storage'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            f"  secret: {secrets.token_hex(16)}",
        ]
        if tls is not None:
            lines += ["  tls:", f"    certificate: {tls.cert}", f"    key: {tls.key}"]
        if htpasswd_file is not None:
            lines += ["auth:", "  htpasswd:", "    realm: hullscan-test", f"    path: {htpasswd_file}"]
        elif token is not None:
            lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in token.items()]
        self.config = work / "config.yml"
        self.config.write_text("\n".join(lines) + "\n")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(self.config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_port(self.port, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log_mark(self) -> int:
        """A position in the access log; :meth:`requests` after it reads only newer lines."""
        self._log.flush()
        return self.log_path.stat().st_size

    def requests(self, since: int = 0) -> list[tuple[str, str, int]]:
        """(method, path, status) of each request in the access log after ``since``."""
        time.sleep(0.05)  # the registry writes its access line after the response
        with open(self.log_path, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        return [(m.group("method"), m.group("path"), int(m.group("status"))) for m in _ACCESS.finditer(text)]

    def blob_gets(self, since: int = 0) -> list[str]:
        """Digests of the blobs fetched (GET, any status) since the mark."""
        out = []
        for method, path, _ in self.requests(since):
            m = re.search(r"/blobs/(sha256:[0-9a-f]{64})$", path)
            if method == "GET" and m:
                out.append(m.group(1))
        return out


def push(
    src: str,
    registry: Registry,
    name: str,
    *,
    fmt: str | None = None,
    all_platforms: bool = False,
    creds: str | None = None,
) -> str:
    """``skopeo copy SRC docker://HOST/NAME`` into the registry; returns the pushed reference."""
    dest = f"{registry.host}/{name}"
    args = ["skopeo", "copy", "--quiet", "--retry-times", "2"]
    if registry.tls is not None:
        args.append(f"--dest-cert-dir={registry.tls.ca_cert.parent / 'skopeo-certs'}")
        certs = registry.tls.ca_cert.parent / "skopeo-certs"
        certs.mkdir(exist_ok=True)
        (certs / "ca.crt").write_bytes(registry.tls.ca_cert.read_bytes())
    else:
        args.append("--dest-tls-verify=false")
    if fmt is not None:
        args += ["--format", fmt]
    if all_platforms:
        args.append("--all")
    if creds is not None:
        args += ["--dest-creds", creds]
    proc = subprocess.run(
        [*args, src, f"docker://{dest}"], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} docker://{dest} failed: {proc.stderr[-2000:]}")
    return dest


# -- the token server ----------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Docker token spec: ``GET /token?service=S&scope=repository:NAME:pull`` with Basic auth."""

    def __init__(self, work: Path, users: dict[str, str], service: str = "hullscan-test-registry") -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.service = service
        self.issuer = "hullscan-test-token-server"
        self.key = _key()
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hullscan test token signer")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = work / "token-signer.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        #: (user or None, scope) of each token request; "!" user: refused credentials.
        self.issued: list[tuple[str | None, str]] = []
        self.port = free_port()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                q = parse_qs(urlsplit(self.path).query)
                scopes = q.get("scope") or []
                scope = " ".join(scopes)
                user = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if server.users.get(u) != p:
                        server.issued.append(("!", scope))
                        self._send(401, {"details": "invalid username or password"})
                        return
                    user = u
                server.issued.append((user, scope))
                # Authenticated users get what they ask for; anonymous requests get nothing.
                token = server.sign(user or "", scopes, granted=user is not None)
                self._send(
                    200, {"token": token, "expires_in": 300, "issued_at": dt.datetime.now(dt.UTC).isoformat()}
                )

            def _send(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def registry_settings(self) -> dict[str, str]:
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": str(self.bundle),
        }

    def sign(self, subject: str, scopes: list[str], *, granted: bool) -> str:
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) >= 3 and parts[0] == "repository":
                actions = parts[-1].split(",") if granted else []
                access.append({"type": "repository", "name": ":".join(parts[1:-1]), "actions": actions})
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the fault-injecting proxy ------------------------------------------------------------------


@dataclass
class Fault:
    """What to do to the next ``times`` requests whose path matches ``path`` (a regex)."""

    path: str
    kind: str  # "status", "retry-after", "cut", "corrupt", "delay"
    status: int = 500
    retry_after: int = 1
    cut_after: int = 1000
    delay: float = 0.5
    times: int = 1
    method: str = "GET"
    hits: int = 0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    status: int
    fault: str | None = None
    #: When the response was sent (monotonic clock).
    at: float = field(default_factory=time.monotonic)
    #: When the request arrived.
    started: float = 0.0


class FaultProxy:
    """A plain-HTTP reverse proxy to ``upstream`` (host:port, plain HTTP) that injects faults."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self, "GET")

            def do_HEAD(self) -> None:
                proxy._handle(self, "HEAD")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.seen.clear()

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.method == method and f.hits < f.times and re.search(f.path, path):
                    f.hits += 1
                    return f
        return None

    def _record(
        self,
        h: http.server.BaseHTTPRequestHandler,
        method: str,
        status: int,
        fault: str | None,
        started: float,
    ) -> None:
        with self._lock:
            self.seen.append(Seen(method, h.path, dict(h.headers.items()), status, fault, started=started))

    def _handle(self, h: http.server.BaseHTTPRequestHandler, method: str) -> None:
        started = time.monotonic()
        fault = self._take(method, h.path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        if fault is not None and fault.kind in ("status", "retry-after"):
            body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'
            status = 429 if fault.kind == "retry-after" else fault.status
            self._record(h, method, status, fault.kind, started)
            h.send_response(status)
            if fault.kind == "retry-after":
                h.send_header("Retry-After", str(fault.retry_after))
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(method, h.path, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self._record(h, method, resp.status, fault.kind if fault else None, started)
        if fault is not None and fault.kind == "corrupt" and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        h.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        if fault is not None and fault.kind == "cut":
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(data[: fault.cut_after])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(data)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- a referrers-API front ----------------------------------------------------------------------


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (one refusing an oversized body does): nothing to report."""


class ReferrersFront:
    """A plain-HTTP front to a :class:`Registry` (plain HTTP) that adds what Debian's
    ``docker-registry`` (distribution 2.8) lacks: the OCI 1.1 referrers API.

    Every request is passed on to the registry, except ``GET /v2/<name>/referrers/<digest>``,
    answered here from the registry's own storage (each manifest revision of the repository whose
    ``subject`` is the digest, its ``artifactType`` or else its config's media type, as the spec
    says), and a manifest upload whose body has a ``subject`` gets the ``OCI-Subject`` response
    header a referrers-capable registry sends. ``overrides`` (path -> status, headers, body)
    answer GETs of those paths instead: a hostile registry, for the tests of what a client must
    refuse. ``seen`` records (method, path, status) of every request."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.upstream = registry.host
        self.storage = registry.work / "storage" / "docker" / "registry" / "v2"
        self.overrides: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, str, int]] = []
        #: False: a plain proxy (no referrers API, no OCI-Subject), as the registry behind it.
        self.api = True
        #: Called with (method, path, status) after each request passed on to the registry.
        self.after: Callable[[str, str, int], None] | None = None
        self._lock = threading.Lock()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                front._handle(self, "GET")

            def do_HEAD(self) -> None:
                front._handle(self, "HEAD")

            def do_POST(self) -> None:
                front._handle(self, "POST")

            def do_PUT(self) -> None:
                front._handle(self, "PUT")

            def do_PATCH(self) -> None:
                front._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                front._handle(self, "DELETE")

        self.httpd = _QuietServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def referrers(self, name: str, digest: str, artifact_type: str | None = None) -> dict[str, Any]:
        """The referrers index of ``digest`` in repository ``name``, from the registry's storage."""
        revisions = self.storage / "repositories" / name / "_manifests" / "revisions" / "sha256"
        manifests = []
        for rev in sorted(revisions.iterdir()) if revisions.is_dir() else []:
            hexd = rev.name
            data = (self.storage / "blobs" / "sha256" / hexd[:2] / hexd / "data").read_bytes()
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            subject = doc.get("subject") if isinstance(doc, dict) else None
            if not isinstance(subject, dict) or subject.get("digest") != digest:
                continue
            at = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
            if artifact_type is not None and at != artifact_type:
                continue
            d = {"mediaType": doc.get("mediaType"), "digest": "sha256:" + hexd, "size": len(data)}
            if at:
                d["artifactType"] = at
            if doc.get("annotations"):
                d["annotations"] = doc["annotations"]
            manifests.append(d)
        return {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }

    def _reply(
        self,
        h: http.server.BaseHTTPRequestHandler,
        method: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        with self._lock:
            self.seen.append((method, h.path, status))
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if method != "HEAD" or "Content-Length" not in headers:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD":
            try:
                h.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                h.close_connection = True  # the client stopped reading (a refused oversized body)

    def _handle(self, h: http.server.BaseHTTPRequestHandler, method: str) -> None:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if method == "GET" and parts.path in self.overrides:
            status, headers, data = self.overrides[parts.path]
            self._reply(h, method, status, headers, data)
            return
        m = re.fullmatch(r"/v2/(?P<name>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})", parts.path)
        if method == "GET" and m and self.api:
            at = (parse_qs(parts.query).get("artifactType") or [None])[0]
            index = json.dumps(self.referrers(m.group("name"), m.group("digest"), at)).encode()
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            if at:
                headers["OCI-Filters-Applied"] = "artifactType"
            self._reply(h, method, 200, headers, index)
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        fwd = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(method, h.path, body=body if body else None, headers=fwd)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        headers = {}
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding") or (
                k.lower() == "content-length" and method != "HEAD"
            ):
                continue
            headers[k] = v.replace(self.upstream, self.host) if k.lower() == "location" else v
        if method == "PUT" and "/manifests/" in parts.path and resp.status == 201 and self.api:
            try:
                subject = json.loads(body).get("subject")
            except (ValueError, AttributeError):
                subject = None
            if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
                headers["OCI-Subject"] = subject["digest"]
        if self.after is not None:
            self.after(method, parts.path, resp.status)
        self._reply(h, method, resp.status, headers, data)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


__all__ = [
    "Fault",
    "FaultProxy",
    "ReferrersFront",
    "Registry",
    "Tls",
    "TokenServer",
    "free_port",
    "htpasswd",
    "make_ca",
    "push",
]
