"""An OCI distribution (registry v2 API) client: HTTP with retries, TLS settings and auth.

One :class:`Repository` talks to one repository on one endpoint. Requests go through
``http.client`` with a keep-alive connection per thread and host. What it does about faults:

- connection errors, timeouts, 408, 500, 502, 503 and 504 are retried with exponential backoff;
  429 (and 503) wait for ``Retry-After`` when the server sends one (up to ``max_retry_after``);
- a blob download cut short is resumed with ``Range: bytes=N-`` (restarted when the server
  ignores the range), and its sha256 is computed while it is written, so a blob whose content
  does not match its digest is deleted and reported, never kept;
- redirects (blob storage often lives elsewhere) are followed without the Authorization header
  when they leave the registry's host.

Auth: the registry's ``WWW-Authenticate`` challenge picks Basic (credentials on every request) or
Bearer (the Docker token spec: ``GET realm?service=..&scope=..``, with Basic credentials when there
are any, or an OAuth2 refresh-token ``POST`` for identity tokens; the token is reused for its
scope until ``expires_in``). A 401 or 403 once credentials were sent is an
:class:`AuthenticationError`. No message carries a secret: they are built without one, and
scrubbed of every known secret on the way out.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import random
import re
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hullscan import __version__
from hullscan.auth import Credential, CredentialStore, redact
from hullscan.errors import (
    AuthenticationError,
    DigestMismatchError,
    ImageNotFoundError,
    LimitExceededError,
    RegistryError,
)
from hullscan.sources.registry_config import ClientOptions, PullEndpoint

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
#: Largest error body or token response read.
MAX_SMALL_BODY = 1 << 20
#: Largest blob accepted (compressed layers of real images stay far below).
MAX_BLOB = 64 << 30
_CHUNK = 1 << 20
USER_AGENT = f"hullscan/{__version__}"

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~/:-]+")


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """``WWW-Authenticate`` header values -> challenges (``Bearer realm="..",service=".."``).
    Several challenges may share one header; parameters follow their scheme."""
    out: list[Challenge] = []
    for value in headers:
        value = value[:8192]
        i, n = 0, len(value)
        current: Challenge | None = None
        while i < n:
            while i < n and value[i] in " \t,":
                i += 1
            m = _TOKEN.match(value, i)
            if m is None:
                i += 1
                continue
            name, i = m.group(0), m.end()
            j = i
            while j < n and value[j] in " \t":
                j += 1
            if j < n and value[j] == "=" and current is not None:
                i = j + 1
                while i < n and value[i] in " \t":
                    i += 1
                if i < n and value[i] == '"':
                    i += 1
                    buf = []
                    while i < n and value[i] != '"':
                        if value[i] == "\\" and i + 1 < n:
                            i += 1
                        buf.append(value[i])
                        i += 1
                    i += 1
                    current.params[name.lower()] = "".join(buf)
                else:
                    v = _TOKEN.match(value, i)
                    current.params[name.lower()] = v.group(0) if v else ""
                    i = v.end() if v else i
            elif j < n and value[j] == "=":
                i = j + 1  # a parameter before any scheme, or token68 padding: skip
            else:
                current = Challenge(name.lower(), {})
                out.append(current)
    return out


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After``: delta-seconds or an HTTP date -> seconds to wait."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _strip_query(url: str) -> str:
    """A URL for messages: without query (presigned storage URLs carry signatures there)."""
    p = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, "", ""))


class _NotTLSError(Exception):
    """The server did not answer the TLS handshake like a TLS server (it speaks plain HTTP)."""


class _CutError(Exception):
    """A body ended before its length."""


#: TLS contexts by (CA file, its size and mtime, insecure), shared by every transport of the process.
_CONTEXTS: dict[tuple[str | None, tuple[int, int] | None, bool], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


class Transport:
    """Keep-alive ``http.client`` connections, one per thread and (scheme, host, TLS settings)."""

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self._local = threading.local()
        self._lock = threading.Lock()
        #: Every connection opened, by any thread, so that close() reaches them all.
        self._opened: list[http.client.HTTPConnection] = []

    def context(self, ca_file: Path | None, insecure: bool) -> ssl.SSLContext:
        """The TLS context for these settings, made once per process: loading the system CA
        store costs ~50 ms, which a fleet of small images would otherwise pay per image. A CA file
        is keyed by its path, size and mtime, so an edited one is loaded again."""
        stamp: tuple[int, int] | None = None
        if ca_file is not None:
            try:
                st = ca_file.stat()
                stamp = (st.st_size, st.st_mtime_ns)
            except OSError:
                stamp = None
        key = (str(ca_file) if ca_file else None, stamp, insecure)
        with _CONTEXTS_LOCK:
            ctx = _CONTEXTS.get(key)
            if ctx is None:
                ctx = ssl.create_default_context()
                if ca_file is not None:
                    try:
                        ctx.load_verify_locations(cafile=str(ca_file))
                    except (OSError, ssl.SSLError) as e:
                        raise RegistryError(f"cannot load CA certificates from {ca_file}: {e}") from e
                if insecure:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                _CONTEXTS[key] = ctx
            return ctx

    def _pool(self) -> dict[tuple[str, str, int], http.client.HTTPConnection]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        ctx: ssl.SSLContext | None,
        body: bytes | None = None,
    ) -> http.client.HTTPResponse:
        """One request, on a pooled connection (a stale one is replaced once)."""
        parts = urllib.parse.urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        key = self._key(parts, ctx)
        pool = self._pool()
        for fresh in (False, True):
            conn = pool.get(key)
            reused = conn is not None and not fresh
            if conn is None or fresh:
                if conn is not None:
                    conn.close()
                conn = self._connect(parts.scheme, parts.netloc, ctx)
                pool[key] = conn
                with self._lock:
                    self._opened = [c for c in self._opened if c.sock is not None]
                    self._opened.append(conn)
            try:
                conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **headers})
                resp = conn.getresponse()
            except ssl.SSLCertVerificationError:
                conn.close()
                pool.pop(key, None)
                raise
            except ssl.SSLError as e:
                conn.close()
                pool.pop(key, None)
                raise _NotTLSError(str(e)) from e
            except (OSError, http.client.HTTPException):
                conn.close()
                pool.pop(key, None)
                if reused:
                    continue
                raise
            if resp.getheader("Connection", "").lower() == "close":
                pool.pop(key, None)
            return resp
        raise AssertionError("unreachable")

    @staticmethod
    def _key(parts: urllib.parse.SplitResult, ctx: ssl.SSLContext | None) -> tuple[str, str, int]:
        return (parts.scheme, parts.netloc, id(ctx) if parts.scheme == "https" else 0)

    def _connect(self, scheme: str, netloc: str, ctx: ssl.SSLContext | None) -> http.client.HTTPConnection:
        timeout = self.options.timeout
        if scheme == "https":
            return http.client.HTTPSConnection(netloc, timeout=timeout, context=ctx)
        if scheme == "http":
            return http.client.HTTPConnection(netloc, timeout=timeout)
        raise RegistryError(f"unsupported URL scheme {scheme!r}")

    def discard(self, url: str, ctx: ssl.SSLContext | None) -> None:
        """Drop the pooled connection for ``url`` (its response was not read to the end)."""
        conn = self._pool().pop(self._key(urllib.parse.urlsplit(url), ctx), None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close this thread's connections."""
        pool = getattr(self._local, "pool", None)
        if pool:
            for conn in pool.values():
                conn.close()
            pool.clear()

    def close_all(self) -> None:
        """Close every connection, of every thread (when the pull is over)."""
        self.close()
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


def _read_small(resp: http.client.HTTPResponse, limit: int = MAX_SMALL_BODY) -> bytes:
    try:
        return resp.read(limit)
    except (OSError, http.client.HTTPException):
        return b""


def _error_detail(body: bytes) -> str:
    """``CODE: message`` from a registry's JSON error body, if it has one."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    errs = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errs, list) and errs and isinstance(errs[0], dict):
        code, msg = errs[0].get("code"), errs[0].get("message")
        text = ": ".join(str(x) for x in (code, msg) if isinstance(x, str) and x)
        return text[:200]
    if isinstance(doc, dict) and isinstance(doc.get("details"), str):
        return str(doc["details"])[:200]
    return ""


class TokenCache:
    """Bearer tokens by (realm, service, scope, credential), until they expire. The credential part
    of the key is a hash of the secrets, so changed credentials never reuse an old token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str, str, str]) -> str | None:
        with self._lock:
            hit = self._tokens.get(key)
            if hit is None:
                return None
            token, expires = hit
            if expires <= time.monotonic():
                del self._tokens[key]
                return None
            return token

    def put(self, key: tuple[str, str, str, str], token: str, lifetime: float) -> None:
        with self._lock:
            # A token is used until shortly before its end (the spec's minimum lifetime is 60 s).
            self._tokens[key] = (token, time.monotonic() + max(lifetime - min(30.0, lifetime / 5), 1.0))

    def drop(self, key: tuple[str, str, str, str]) -> None:
        with self._lock:
            self._tokens.pop(key, None)


def _identity(cred: Credential | None) -> str:
    if cred is None:
        return "anonymous"
    raw = "\0".join((cred.username, cred.password, cred.identity_token or ""))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


#: Bearer tokens shared by every pull in this process.
TOKENS = TokenCache()


class Repository:
    """One repository on one endpoint: manifests and blobs, with auth, retries and TLS settings."""

    def __init__(
        self,
        endpoint: PullEndpoint,
        credentials: CredentialStore,
        transport: Transport,
        tokens: TokenCache,
        cancelled: threading.Event | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.transport = transport
        self.tokens = tokens
        self.options = transport.options
        self.cancelled = cancelled or threading.Event()
        self.repository = endpoint.repository
        self.description = f"{endpoint.host}/{endpoint.repository}"
        self._ctx = transport.context(endpoint.ca_file, endpoint.insecure)
        self._scheme: str | None = None
        self._lock = threading.RLock()
        self._challenge: Challenge | None = None
        self._authorization: str | None = None
        self._token_key: tuple[str, str, str, str] | None = None
        self._token_from_cache = False
        self._credential: Credential | None = None
        self._credential_looked_up = False
        #: Requests sent, by kind, for tests and benchmarks.
        self.requests: dict[str, int] = {}
        #: The token scope's actions: ``pull``, or ``pull,push`` for a client that uploads.
        self.actions = "pull"

    # -- plumbing ---------------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        out = list(self.credentials.secrets)
        if self._authorization:
            out.append(self._authorization.split(" ", 1)[-1])
        return out

    def _error(self, cls: type[Exception], text: str) -> Exception:
        return cls(redact(text, self._secrets()))

    def _sleep(self, seconds: float) -> None:
        if self.cancelled.wait(max(0.0, seconds)):
            raise RegistryError(f"{self.description}: cancelled")

    def _delay(self, attempt: int) -> float:
        base: float = self.options.backoff * (2**attempt)
        return min(base, 30.0) * (0.8 + 0.4 * random.random())  # noqa: S311 (jitter, not crypto)

    def _credential_for(self) -> Credential | None:
        if not self._credential_looked_up:
            self._credential = self.credentials.lookup(*self.endpoint.credential_names)
            self._credential_looked_up = True
        return self._credential

    def _base(self) -> str:
        if self._scheme is None:
            self.ping()
        return f"{self._scheme}://{self.endpoint.host}"

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None = None,
        what: str = "",
    ) -> http.client.HTTPResponse:
        """Send with retries on connection errors and retryable statuses, following redirects.
        Returns the final response (any status)."""
        attempt = 0
        while True:
            try:
                resp = self._follow(method, url, headers, body)
            except ssl.SSLCertVerificationError as e:
                raise self._error(
                    RegistryError,
                    f"{self.endpoint.host}: TLS certificate not trusted ({e.verify_message}); give its CA "
                    "with ca_file in the registry settings (--registry-ca) or allow it with "
                    "--insecure-registry",
                ) from None
            except _NotTLSError as e:
                raise self._error(RegistryError, f"{self.endpoint.host}: TLS handshake failed: {e}") from None
            except (OSError, http.client.HTTPException) as e:
                if attempt >= self.options.retries:
                    raise self._error(
                        RegistryError,
                        f"{what or method} {_strip_query(url)}: {type(e).__name__}: {e} "
                        f"(after {attempt + 1} attempts)",
                    ) from None
                self._sleep(self._delay(attempt))
                attempt += 1
                continue
            if resp.status in _RETRY_STATUS and attempt < self.options.retries:
                delay = self._delay(attempt)
                ra = retry_after(resp.getheader("Retry-After")) if resp.status in (429, 503) else None
                _read_small(resp, 64 << 10)
                if not resp.isclosed():
                    self.transport.discard(url, self._ctx)
                if ra is not None:
                    if ra > self.options.max_retry_after:
                        raise self._error(
                            RegistryError,
                            f"{what or method} {_strip_query(url)}: HTTP {resp.status}; the registry asks "
                            f"to retry after {ra:.0f} s (more than max_retry_after, "
                            f"{self.options.max_retry_after:.0f} s)",
                        )
                    delay = ra
                self._sleep(delay)
                attempt += 1
                continue
            return resp

    def _follow(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> http.client.HTTPResponse:
        origin = urllib.parse.urlsplit(url)
        ctx: ssl.SSLContext | None = self._ctx if origin.scheme == "https" else None
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.transport.send(method, url, headers, ctx, body)
            if resp.status not in _REDIRECT_STATUS or method not in ("GET", "HEAD"):
                return resp
            location = resp.getheader("Location")
            _read_small(resp, 64 << 10)
            if not resp.isclosed():
                self.transport.discard(url, ctx)
            if not location:
                raise RegistryError(f"{_strip_query(url)}: HTTP {resp.status} redirect without a Location")
            new = urllib.parse.urljoin(url, location)
            parts = urllib.parse.urlsplit(new)
            if parts.scheme not in ("http", "https"):
                raise RegistryError(f"{_strip_query(url)}: redirect to an unsupported URL scheme")
            if parts.scheme == "http" and origin.scheme == "https" and not self.endpoint.plain_http_allowed:
                raise RegistryError(f"{_strip_query(url)}: refusing a redirect from HTTPS to plain HTTP")
            if parts.netloc != origin.netloc or parts.scheme != origin.scheme:
                # Storage elsewhere: credentials stay with the registry.
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                ctx = (
                    self.transport.context(self.endpoint.ca_file, False) if parts.scheme == "https" else None
                )
            url = new
        raise RegistryError(f"{_strip_query(url)}: more than {MAX_REDIRECTS} redirects")

    # -- the v2 API ---------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: decide between HTTPS and plain HTTP and learn the auth challenge."""
        schemes = ["https", "http"] if self.endpoint.plain_http_allowed else ["https"]
        last: Exception | None = None
        for scheme in schemes:
            url = f"{scheme}://{self.endpoint.host}/v2/"
            try:
                resp = self._send_ping(url)
            except _NotTLSError as e:
                last = e
                continue
            except RegistryError as e:
                last = e
                if scheme == "https" and "http" in schemes and "TLS certificate" not in str(e):
                    continue
                raise
            self._scheme = scheme
            body = _read_small(resp, 64 << 10)
            self._count("ping")
            if resp.status == 401:
                self._note_challenge(resp.headers.get_all("WWW-Authenticate") or [])
            elif resp.status >= 400 and resp.status != 404:
                detail = _error_detail(body)
                raise self._error(
                    RegistryError,
                    f"{self.endpoint.host} answered GET /v2/ with HTTP {resp.status}"
                    + (f": {detail}" if detail else "")
                    + " (is it a container registry?)",
                )
            return
        assert last is not None
        if isinstance(last, RegistryError):
            raise last
        raise self._error(
            RegistryError,
            f"{self.endpoint.host}: TLS handshake failed ({last}); a registry serving plain HTTP must be "
            "allowed with --insecure-registry or insecure = true in the registry settings",
        )

    def _send_ping(self, url: str) -> http.client.HTTPResponse:
        ctx = self._ctx if url.startswith("https:") else None
        attempt = 0
        while True:
            try:
                resp = self.transport.send("GET", url, {}, ctx)
            except (_NotTLSError, ssl.SSLCertVerificationError) as e:
                if isinstance(e, ssl.SSLCertVerificationError):
                    raise self._error(
                        RegistryError,
                        f"{self.endpoint.host}: TLS certificate not trusted ({e.verify_message}); give its "
                        "CA with ca_file in the registry settings (--registry-ca) or allow it with "
                        "--insecure-registry",
                    ) from None
                raise
            except ConnectionResetError as e:
                if url.startswith("https:"):
                    raise _NotTLSError(str(e)) from e
                raise
            except (OSError, http.client.HTTPException) as e:
                if url.startswith("https:") and isinstance(e, http.client.RemoteDisconnected):
                    raise _NotTLSError(str(e)) from e
                if attempt >= self.options.retries:
                    raise self._error(
                        RegistryError,
                        f"cannot reach {self.endpoint.host}: {type(e).__name__}: {e} "
                        f"(after {attempt + 1} attempts)",
                    ) from None
                self._sleep(self._delay(attempt))
                attempt += 1
                continue
            if resp.status in _RETRY_STATUS and attempt < self.options.retries:
                ra = retry_after(resp.getheader("Retry-After")) if resp.status in (429, 503) else None
                _read_small(resp, 64 << 10)
                self._sleep(min(ra, self.options.max_retry_after) if ra is not None else self._delay(attempt))
                attempt += 1
                continue
            return resp

    def _count(self, kind: str) -> None:
        with self._lock:
            self.requests[kind] = self.requests.get(kind, 0) + 1

    def _note_challenge(self, headers: list[str]) -> None:
        found = parse_challenges(headers)
        bearer = [c for c in found if c.scheme == "bearer" and c.params.get("realm")]
        basic = [c for c in found if c.scheme == "basic"]
        with self._lock:
            self._challenge = bearer[0] if bearer else basic[0] if basic else None

    def _scope(self) -> str:
        return f"repository:{self.repository}:{self.actions}"

    def _authenticate(self, failed: bool) -> None:
        """Set ``_authorization`` for the known challenge; ``failed``: the last one was refused."""
        with self._lock:
            ch = self._challenge
            cred = self._credential_for()
            if ch is None:
                raise self._error(
                    AuthenticationError,
                    f"{self.endpoint.host} refused access to {self.repository} without saying how to "
                    "authenticate (no WWW-Authenticate challenge)",
                )
            if ch.scheme == "basic":
                if cred is None or not (cred.username or cred.password):
                    raise self._error(
                        AuthenticationError,
                        f"{self.endpoint.host} requires credentials for {self.repository} and none were "
                        f"found for {', '.join(self.endpoint.credential_names)} (docker config file, "
                        "credential helpers, Amazon ECR)",
                    )
                if failed:
                    raise self._error(
                        AuthenticationError,
                        f"{self.endpoint.host} refused the credentials from {cred.source} "
                        f"(user {cred.username!r}) for {self.repository}",
                    )
                self._authorization = cred.basic()
                return
            realm = ch.params["realm"]
            service = ch.params.get("service", "")
            scope = ch.params.get("scope") or self._scope()
            who = cred.source if cred else "anonymous"
            key = (realm, service, scope, _identity(cred))
            if failed and self._token_key == key:
                self.tokens.drop(key)
                if not self._token_from_cache:
                    if cred is None:
                        raise self._refused()
                    raise self._error(
                        AuthenticationError,
                        f"{self.endpoint.host} refused the token issued by {_strip_query(realm)} for the "
                        f"credentials from {who} (user {cred.username!r}) for {self.repository}",
                    )
            token = self.tokens.get(key)
            self._token_from_cache = token is not None
            if token is None:
                token, lifetime = self._fetch_token(realm, service, scope, cred)
                self.tokens.put(key, token, lifetime)
            self._authorization = "Bearer " + token
            self._token_key = key
            self.credentials.secrets.append(token)

    def _fetch_token(
        self, realm: str, service: str, scope: str, cred: Credential | None
    ) -> tuple[str, float]:
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in ("http", "https"):
            raise self._error(AuthenticationError, f"token realm {_strip_query(realm)} is not an http(s) URL")
        if parts.scheme == "http" and not self.endpoint.plain_http_allowed and self._scheme == "https":
            raise self._error(
                AuthenticationError,
                f"refusing to send credentials to the plain-HTTP token realm {_strip_query(realm)}",
            )
        query = {k: v for k, v in (("service", service), ("scope", scope)) if v}
        headers: dict[str, str] = {"Accept": "application/json"}
        body = None
        method = "GET"
        if cred is not None and cred.identity_token:
            method = "POST"
            form = {
                "grant_type": "refresh_token",
                "refresh_token": cred.identity_token,
                "client_id": "hullscan",
                **query,
            }
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            url = realm
        else:
            sep = "&" if parts.query else "?"
            url = realm + (sep + urllib.parse.urlencode(query) if query else "")
            if cred is not None and (cred.username or cred.password):
                headers["Authorization"] = cred.basic()
        self._count("token")
        resp = self._send(method, url, headers, body, what="token request")
        data = _read_small(resp)
        who = f"the credentials from {cred.source}" if cred else "anonymous access"
        if resp.status in (401, 403):
            detail = _error_detail(data)
            raise self._error(
                AuthenticationError,
                f"token server {_strip_query(realm)} refused {who} for {scope} (HTTP {resp.status})"
                + (f": {detail}" if detail else ""),
            )
        if resp.status != 200:
            raise self._error(
                RegistryError, f"token server {_strip_query(realm)} answered HTTP {resp.status} for {scope}"
            )
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise self._error(
                RegistryError, f"token server {_strip_query(realm)} answered something not JSON"
            ) from None
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error(RegistryError, f"token server {_strip_query(realm)} answered no token")
        expires = doc.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        return token, lifetime

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        what: str = "",
        body: bytes | None = None,
    ) -> http.client.HTTPResponse:
        """An authenticated request for ``/v2/<repository>/<path>``; raises on 401/403/404 and on
        other error statuses; returns a 2xx response with its body unread."""
        return self.request_url(method, f"{self._base()}/v2/{self.repository}/{path}", headers, what, body)

    def request_url(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        what: str = "",
        body: bytes | None = None,
    ) -> http.client.HTTPResponse:
        """:meth:`request` for a full URL on the registry (an upload ``Location``)."""
        if self._scheme is None:
            self.ping()
        refused = False
        for _ in range(3):
            h = dict(headers or {})
            with self._lock:
                challenge, authorization = self._challenge, self._authorization
            if authorization is None and challenge is not None:
                self._authenticate(False)
                with self._lock:
                    authorization = self._authorization
            if authorization:
                h["Authorization"] = authorization
            resp = self._send(method, url, h, body, what=what)
            if resp.status == 401:
                _read_small(resp, 64 << 10)
                had = authorization is not None
                self._note_challenge(resp.headers.get_all("WWW-Authenticate") or [])
                if had and refused:
                    break
                refused = had
                self._authenticate(had)
                continue
            if resp.status == 403:
                detail = _error_detail(_read_small(resp, 64 << 10))
                cred = self._credential
                raise self._error(
                    AuthenticationError,
                    f"{self.endpoint.host} denied access to {self.repository} (HTTP 403"
                    + (f", {detail}" if detail else "")
                    + ")"
                    + (f" with the credentials from {cred.source}" if cred and authorization else ""),
                )
            if resp.status == 404:
                detail = _error_detail(_read_small(resp, 64 << 10))
                raise self._error(
                    ImageNotFoundError,
                    f"{what or _strip_query(url)} not found in {self.description}"
                    + (f" ({detail})" if detail else ""),
                )
            if resp.status >= 300:
                detail = _error_detail(_read_small(resp, 64 << 10))
                raise self._error(
                    RegistryError,
                    f"{what or _strip_query(url)} from {self.description}: HTTP {resp.status} {resp.reason}"
                    + (f": {detail}" if detail else ""),
                )
            return resp
        raise self._refused()

    def _refused(self) -> Exception:
        cred = self._credential
        if cred is None:
            return self._error(
                AuthenticationError,
                f"{self.endpoint.host} requires credentials for {self.repository} and none were found for "
                f"{', '.join(self.endpoint.credential_names)} (docker config file, credential helpers, "
                "Amazon ECR)",
            )
        return self._error(
            AuthenticationError,
            f"{self.endpoint.host} refused the credentials from {cred.source} (user {cred.username!r}) "
            f"for {self.repository}",
        )

    def manifest(self, reference: str, accept: list[str], limit: int) -> tuple[bytes, str, str | None]:
        """(body, content type, Docker-Content-Digest) of a manifest by tag or digest."""
        self._count("manifest")
        resp = self.request(
            "GET", f"manifests/{reference}", {"Accept": ", ".join(accept)}, what=f"manifest {reference}"
        )
        length = resp.getheader("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            resp.close()
            self.transport.close()
            raise LimitExceededError(f"manifest {reference} is {length} bytes; at most {limit} are read")
        try:
            data = resp.read(limit + 1)
        except (OSError, http.client.HTTPException) as e:
            raise self._error(RegistryError, f"manifest {reference}: connection lost: {e}") from None
        if len(data) > limit:
            resp.close()
            raise LimitExceededError(f"manifest {reference} is larger than {limit} bytes")
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        return data, ctype, resp.getheader("Docker-Content-Digest")

    def blob_bytes(self, digest: str, limit: int) -> bytes:
        """A small blob (a config), read into memory and verified."""
        self._count("blob")
        resp = self.request("GET", f"blobs/{digest}", what=f"blob {digest}")
        try:
            data = resp.read(limit + 1)
        except (OSError, http.client.HTTPException) as e:
            raise self._error(RegistryError, f"blob {digest}: connection lost: {e}") from None
        if len(data) > limit:
            resp.close()
            raise LimitExceededError(f"blob {digest} is larger than {limit} bytes")
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise DigestMismatchError(f"blob {digest} from {self.description} hashes to {actual}; discarded")
        return data

    def download(
        self,
        digest: str,
        size: int | None,
        dest: Path,
        tmp_dir: Path,
        on_bytes: Callable[[int], None] | None = None,
    ) -> int:
        """Stream blob ``digest`` into ``dest`` (written as a temporary file in ``tmp_dir``, renamed
        into place once its sha256 matches). Resumes a cut transfer with a Range request. Returns
        the number of bytes fetched over the network."""
        if size is not None and size > MAX_BLOB:
            raise LimitExceededError(f"blob {digest} is {size} bytes; at most {MAX_BLOB} are downloaded")
        limit = size if size is not None else MAX_BLOB
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=digest[7:23] + "-", suffix=".part")
        tmp = Path(tmp_name)
        fetched = 0
        try:
            with os.fdopen(fd, "wb") as out:
                h = hashlib.sha256()
                n = 0
                failures = 0
                while True:
                    headers = {"Range": f"bytes={n}-"} if n else {}
                    progress_before = n
                    try:
                        self._count("blob")
                        resp = self.request("GET", f"blobs/{digest}", headers, what=f"blob {digest}")
                        if n and resp.status == 206:
                            start = _content_range_start(resp.getheader("Content-Range"))
                            if start != n:
                                resp.close()
                                raise _CutError(f"the registry resumed at byte {start}, not {n}")
                        elif n and resp.status == 200:
                            # The range was ignored: start again from the first byte.
                            out.seek(0)
                            out.truncate()
                            h = hashlib.sha256()
                            n = 0
                        elif resp.status not in (200, 206):
                            raise self._error(RegistryError, f"blob {digest}: unexpected HTTP {resp.status}")
                        expected = resp.getheader("Content-Length")
                        remaining = int(expected) if expected and expected.isdigit() else None
                        got = 0
                        while True:
                            if self.cancelled.is_set():
                                resp.close()
                                raise RegistryError(f"blob {digest}: cancelled")
                            chunk = resp.read(_CHUNK)
                            if not chunk:
                                break
                            got += len(chunk)
                            n += len(chunk)
                            fetched += len(chunk)
                            if n > limit:
                                resp.close()
                                self.transport.close()
                                raise DigestMismatchError(
                                    f"blob {digest} from {self.description} is longer than its "
                                    f"{limit} bytes; discarded"
                                )
                            out.write(chunk)
                            h.update(chunk)
                            if on_bytes is not None:
                                on_bytes(len(chunk))
                        if remaining is not None and got < remaining:
                            raise _CutError(f"connection closed after {got} of {remaining} bytes")
                        if size is not None and n < size:
                            # Ended cleanly but short (a proxy's doing): ask for the rest.
                            raise _CutError(f"the response ended after {n} of {size} bytes")
                        break
                    except (OSError, http.client.HTTPException, _CutError) as e:
                        # This thread's connections may be half-read: start afresh.
                        self.transport.close()
                        failures = 0 if n > progress_before else failures + 1
                        if failures > self.options.retries:
                            raise self._error(
                                RegistryError,
                                f"blob {digest} from {self.description}: download failed after "
                                f"{n} bytes: {type(e).__name__}: {e}",
                            ) from None
                        self._sleep(self._delay(max(failures - 1, 0)))
                out.flush()
                os.fsync(out.fileno())
            actual = "sha256:" + h.hexdigest()
            if actual != digest or (size is not None and n != size):
                raise DigestMismatchError(
                    f"blob {digest} from {self.description} hashes to {actual} ({n} bytes); discarded"
                )
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return fetched


def _content_range_start(value: str | None) -> int | None:
    m = re.match(r"^\s*bytes\s+(\d+)-\d+/(?:\d+|\*)\s*$", value or "")
    return int(m.group(1)) if m else None


__all__ = [
    "MAX_BLOB",
    "TOKENS",
    "Challenge",
    "Repository",
    "TokenCache",
    "Transport",
    "parse_challenges",
    "retry_after",
]
