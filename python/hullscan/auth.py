"""Registry credentials: the docker config file, ``docker-credential-*`` helpers, Amazon ECR.

Where a registry's credentials come from, in order:

1. the docker config file (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``):
   ``credHelpers[registry]`` names a helper for that registry; else ``credsStore`` names one for
   all; else (or when the helper has nothing) ``auths[registry]`` holds ``auth`` (base64
   ``user:password``), ``username`` / ``password``, or an ``identitytoken``;
2. for ``ACCOUNT.dkr.ecr.REGION.amazonaws.com``: ``ecr:GetAuthorizationToken`` through boto3 (the
   ``ecr`` extra), with the region from the name and the profile and keys from the usual AWS
   configuration (``AWS_PROFILE``, environment, config files, instance roles; ``AWS_ENDPOINT_URL_ECR``
   or ``AWS_ENDPOINT_URL`` for another endpoint); the token is kept until it expires;
3. none: anonymous.

A helper is run as ``docker-credential-NAME get`` with the server address on standard input and
answers ``{"ServerURL", "Username", "Secret"}`` (``Username`` ``<token>``: the secret is an identity
token). Secrets are held in :class:`Credential` objects whose ``repr`` hides them, and no message
hullscan writes holds one (:func:`redact` scrubs what a server might echo).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hullscan.errors import AuthenticationError
from hullscan.sources.registry_ref import DOCKER_HUB, DOCKER_HUB_AUTH_KEY, canonical_registry

#: ``ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]``
ECR_HOST = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr(?:-fips)?\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
#: Seconds before its stated expiry that a token is no longer used.
EXPIRY_MARGIN = 60.0
#: Seconds a credential helper may take.
HELPER_TIMEOUT = 30.0
#: Largest docker config file read.
MAX_CONFIG = 4 << 20


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and password (or an identity token) for one registry. ``source`` says where it
    came from, for messages; the secrets never appear in ``repr``."""

    username: str
    password: str = field(repr=False)
    source: str = ""
    #: An OAuth2 refresh token (``identitytoken`` in the docker config, ``<token>`` helpers).
    identity_token: str | None = field(default=None, repr=False)
    #: Unix time after which the credential is no longer valid (ECR), or None.
    expires_at: float | None = None

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.identity_token) if s]

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (and its base64 forms) replaced by ``***``."""
    for s in secrets:
        if not s or len(s) < 4:
            continue
        text = text.replace(s, "***")
    return text


def docker_config_path() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    base = Path(env) if env else Path.home() / ".docker"
    return base / "config.json"


def _host_key(key: str) -> str:
    """An ``auths`` key (``https://host/v1/``, ``host``, ``http://host``) as a registry name."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0]
    return canonical_registry(k.lower())


def _helper_server(registry: str) -> str:
    """What a credential helper is asked for: Docker Hub's historic key, else the host."""
    return DOCKER_HUB_AUTH_KEY if registry == DOCKER_HUB else registry


class DockerConfig:
    """The docker config file, read once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or docker_config_path()
        self.auths: dict[str, dict[str, Any]] = {}
        self.cred_helpers: dict[str, str] = {}
        self.creds_store: str | None = None
        try:
            with open(self.path, "rb") as f:
                raw = f.read(MAX_CONFIG + 1)
        except FileNotFoundError:
            return
        except OSError as e:
            raise AuthenticationError(f"cannot read the docker config file {self.path}: {e.strerror}") from e
        if len(raw) > MAX_CONFIG:
            raise AuthenticationError(f"the docker config file {self.path} is larger than {MAX_CONFIG} bytes")
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # The parser's message may quote the file, which holds secrets: do not pass it on.
            raise AuthenticationError(f"the docker config file {self.path} is not valid JSON") from None
        if not isinstance(doc, dict):
            raise AuthenticationError(f"the docker config file {self.path} is not a JSON object")
        auths = doc.get("auths")
        if isinstance(auths, dict):
            for k, v in auths.items():
                if isinstance(k, str) and isinstance(v, dict):
                    self.auths.setdefault(_host_key(k), v)
        helpers = doc.get("credHelpers")
        if isinstance(helpers, dict):
            for k, v in helpers.items():
                if isinstance(k, str) and isinstance(v, str) and v:
                    self.cred_helpers[_host_key(k)] = v
        store = doc.get("credsStore")
        if isinstance(store, str) and store:
            self.creds_store = store

    def lookup(self, registry: str) -> Credential | None:
        registry = canonical_registry(registry.lower())
        helper = self.cred_helpers.get(registry) or self.creds_store
        if helper is not None:
            cred = run_helper(helper, _helper_server(registry))
            if cred is not None:
                return cred
        entry = self.auths.get(registry)
        return self._from_auths(registry, entry) if entry else None

    def _from_auths(self, registry: str, entry: dict[str, Any]) -> Credential | None:
        where = f"{self.path} auths[{registry}]"
        user, password = entry.get("username"), entry.get("password")
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise AuthenticationError(f"{where}: the auth field is not base64 of user:password") from None
        token = entry.get("identitytoken")
        token = token if isinstance(token, str) and token else None
        if not isinstance(user, str) or not isinstance(password, str):
            user, password = "", ""
        if not (user or password or token):
            return None
        return Credential(user, password, f"docker config {where}", identity_token=token)


def run_helper(name: str, server: str) -> Credential | None:
    """``docker-credential-NAME get`` for ``server``; None when it has no credentials for it."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise AuthenticationError(f"invalid credential helper name {name!r} in the docker config file")
    program = f"docker-credential-{name}"
    path = shutil.which(program)
    if path is None:
        raise AuthenticationError(
            f"credential helper {program} (named in the docker config file) is not on PATH"
        )
    try:
        proc = subprocess.run(
            [path, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AuthenticationError(
            f"credential helper {program} did not answer in {HELPER_TIMEOUT:.0f} s"
        ) from None
    except OSError as e:
        raise AuthenticationError(f"cannot run credential helper {program}: {e.strerror}") from e
    out = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0:
        if (
            "credentials not found" in out.lower()
            or "credentials not found" in proc.stderr.decode(errors="replace").lower()
        ):
            return None
        # The helper's output is not repeated: it could hold anything.
        raise AuthenticationError(f"credential helper {program} failed for {server} (exit {proc.returncode})")
    try:
        doc = json.loads(out)
    except ValueError:
        raise AuthenticationError(
            f"credential helper {program} answered something that is not JSON"
        ) from None
    if not isinstance(doc, dict):
        raise AuthenticationError(f"credential helper {program} answered something that is not a JSON object")
    user, secret = doc.get("Username"), doc.get("Secret")
    if not isinstance(user, str) or not isinstance(secret, str) or not secret:
        return None
    source = f"credential helper {program}"
    if user == "<token>":
        return Credential("", "", source, identity_token=secret)
    return Credential(user, secret, source)


class EcrTokens:
    """``ecr:GetAuthorizationToken`` results, kept until shortly before they expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str | None], Credential] = {}

    def lookup(self, registry: str) -> Credential | None:
        m = ECR_HOST.fullmatch(registry.lower())
        if m is None:
            return None
        account, region = m.group("account"), m.group("region")
        profile = os.environ.get("AWS_PROFILE") or None
        key = (account, region, profile)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and (cached.expires_at or 0) - EXPIRY_MARGIN > time.time():
                return cached
            cred = _ecr_token(account, region, profile)
            self._tokens[key] = cred
            return cred

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


def _ecr_token(account: str, region: str, profile: str | None) -> Credential:
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise AuthenticationError(
            f"{account}.dkr.ecr.{region}.amazonaws.com is an Amazon ECR registry: install boto3 "
            "(pip install 'hullscan[ecr]') to authenticate to it"
        ) from None
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        client = session.client("ecr", region_name=region)
        resp = client.get_authorization_token(registryIds=[account])
    except botocore.exceptions.NoCredentialsError:
        raise AuthenticationError(
            f"no AWS credentials for Amazon ECR in {region} (environment, AWS_PROFILE, or the AWS "
            "config and credentials files)"
        ) from None
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        raise AuthenticationError(
            f"ecr:GetAuthorizationToken for account {account} in {region} failed: "
            f"{err.get('Code', '?')}: {err.get('Message', '')}"
        ) from None
    except botocore.exceptions.BotoCoreError as e:
        raise AuthenticationError(
            f"ecr:GetAuthorizationToken for account {account} in {region} failed: {type(e).__name__}"
        ) from None
    data = resp.get("authorizationData") or []
    if not data or not isinstance(data[0].get("authorizationToken"), str):
        raise AuthenticationError(f"ecr:GetAuthorizationToken for account {account} returned no token")
    try:
        user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthenticationError(
            "ecr:GetAuthorizationToken returned a token that is not base64 user:password"
        ) from None
    expires = data[0].get("expiresAt")
    if isinstance(expires, datetime):
        expires_at = (expires if expires.tzinfo else expires.replace(tzinfo=UTC)).timestamp()
    else:
        expires_at = time.time() + 12 * 3600
    return Credential(
        user, password, f"Amazon ECR GetAuthorizationToken ({account}, {region})", expires_at=expires_at
    )


#: One per process: ECR tokens last 12 hours and are shared by every scan.
ECR_TOKENS = EcrTokens()


class CredentialStore:
    """Credentials for registries, looked up once per registry per scan."""

    def __init__(self, docker_config: Path | None = None, ecr: EcrTokens | None = None) -> None:
        self._config_path = docker_config
        self._config: DockerConfig | None = None
        self._ecr = ecr or ECR_TOKENS
        self._lock = threading.Lock()
        self._found: dict[str, Credential | None] = {}
        #: Every secret handed out, to scrub messages with.
        self.secrets: list[str] = []

    def lookup(self, *names: str) -> Credential | None:
        """The first credential for any of ``names`` (registry host[:port] names), from the docker
        config, else from ECR."""
        with self._lock:
            for name in names:
                cred = self._lookup_one(canonical_registry(name.lower()))
                if cred is not None:
                    return cred
        return None

    def _lookup_one(self, name: str) -> Credential | None:
        if name in self._found:
            cred = self._found[name]
            if cred is None or cred.expires_at is None or cred.expires_at - EXPIRY_MARGIN > time.time():
                return cred
        if self._config is None:
            self._config = DockerConfig(self._config_path)
        cred = self._config.lookup(name) or self._ecr.lookup(name)
        self._found[name] = cred
        if cred is not None:
            self.secrets.extend(cred.secrets())
            self.secrets.append(cred.basic().split(" ", 1)[1])
        return cred


__all__ = [
    "ECR_HOST",
    "ECR_TOKENS",
    "Credential",
    "CredentialStore",
    "DockerConfig",
    "EcrTokens",
    "docker_config_path",
    "redact",
    "run_helper",
]
