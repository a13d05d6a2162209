"""The registry source's parts on their own: reference grammar, settings, challenges, docker config
and credential helpers, and a hostile registry (an HTTP server here that lies in every way it can:
oversized or looping documents, blobs longer than declared, wrong digests, schema 1, redirects)."""

from __future__ import annotations

import hashlib
import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import hullscan
from hullscan import sources
from hullscan.auth import Credential, CredentialStore, DockerConfig, redact, run_helper
from hullscan.sources.registry_client import parse_challenges, retry_after
from hullscan.sources.registry_config import RegistryConfig
from hullscan.sources.registry_ref import (
    DOCKER_HUB,
    DOCKER_HUB_AUTH_KEY,
    DOCKER_HUB_ENDPOINT,
    Reference,
    parse_reference,
)
from registry_servers import free_port

HEX = "0123456789abcdef" * 4


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    (tmp_path / "docker").mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HULLSCAN_REGISTRIES", raising=False)
    return tmp_path / "docker"


# -- references -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", DOCKER_HUB, "library/alpine", "latest", None),
        ("alpine:3.20", DOCKER_HUB, "library/alpine", "3.20", None),
        ("team/app", DOCKER_HUB, "team/app", "latest", None),
        ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000", "app", "1.0", None),
        ("localhost/a/b/c:v_1-x.y", "localhost", "a/b/c", "v_1-x.y", None),
        (f"localhost:5000/app@sha256:{HEX}", "localhost:5000", "app", None, f"sha256:{HEX}"),
        (f"reg.example:443/app:1@sha256:{HEX}", "reg.example:443", "app", "1", f"sha256:{HEX}"),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        ("localhost:5000", DOCKER_HUB, "library/localhost", "5000", None),  # docker reads it so too
        ("a__b/c--d/e.f", DOCKER_HUB, "a__b/c--d/e.f", "latest", None),
    ],
)
def test_reference_grammar(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert parse_reference(text) == Reference(registry, repository, tag, digest)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " alpine",
        "Alpine",
        "app:",
        "app:-bad",
        "a//b",
        "/abs/path",
        "app@sha256:short",
        f"app@sha512:{HEX}{HEX}",
        "host:99999/app",
        "[::1/app",
        "_app",
        "app:" + "x" * 129,
        "a/" * 200 + "b",
        "x" * 5000,
        "app\n:1",
    ],
)
def test_reference_rejects(text: str) -> None:
    with pytest.raises(hullscan.SourceError):
        parse_reference(text)


def test_bare_sources(tmp_path: Path) -> None:
    spec = sources.parse("127.0.0.1:5000/app:1")
    assert spec.kind == "registry"
    assert str(spec) == "registry:127.0.0.1:5000/app:1"
    assert sources.parse("docker:alpine:3.10").kind == "docker"
    # Names that look like files are reported as missing files, not looked up in a registry.
    for text in ("missing.tar", "image.tar.gz", "./app", str(tmp_path / "nope"), "Upper/Case"):
        with pytest.raises(hullscan.SourceError, match="not an existing path"):
            sources.parse(text)
    # An existing path wins over a reference that reads the same.
    (tmp_path / "app").mkdir()
    assert sources.parse(str(tmp_path / "app")).kind == "dir"
    with pytest.raises(hullscan.SourceError):
        sources.parse("registry:Not A Ref")


# -- settings ---------------------------------------------------------------------------------------


def test_settings_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("")
    conf = tmp_path / "registries.toml"
    conf.write_text(
        """
[options]
concurrency = 2
retries = 1

[[registry]]
prefix = "reg.example"
location = "registry.internal:5000/proxy"
ca_file = "ca.pem"

[[registry]]
prefix = "reg.example/team"
insecure = true
[[registry.mirror]]
location = "mirror.example/cache"
[[registry.mirror]]
location = "mirror2.example"
insecure = true

[[registry]]
prefix = "*.corp.example"
location = "127.0.0.1:6000"

[[registry]]
prefix = "blocked.example"
blocked = true
"""
    )
    cfg = RegistryConfig.load(conf)
    assert cfg.options.concurrency == 2
    assert cfg.options.retries == 1
    (ep,) = cfg.endpoints(parse_reference("reg.example/app:1"))
    assert (ep.host, ep.repository, ep.ca_file, ep.mirror) == (
        "registry.internal:5000",
        "proxy/app",
        tmp_path / "ca.pem",
        False,
    )
    # A rewritten location may use the credentials of the name it stands for.
    assert ep.credential_names == ("registry.internal:5000", "reg.example")
    # The longest prefix wins: mirrors in order, then the registry itself (no location here).
    eps = cfg.endpoints(parse_reference("reg.example/team/app:1"))
    assert [(e.host, e.repository, e.insecure, e.mirror) for e in eps] == [
        ("mirror.example", "cache/app", False, True),  # the prefix is replaced, as in registries.conf
        ("mirror2.example", "app", True, True),
        ("reg.example", "team/app", True, False),
    ]
    assert eps[0].credential_names == ("mirror.example",)  # a mirror never gets the registry's
    (ep,) = cfg.endpoints(parse_reference("x.corp.example/app:1"))
    assert (ep.host, ep.repository) == ("127.0.0.1:6000", "app")
    assert ep.plain_http_allowed  # loopback
    with pytest.raises(hullscan.SourceError, match="blocked"):
        cfg.endpoints(parse_reference("blocked.example/app"))
    # No rule: the registry as named; Docker Hub's API lives on its endpoint host.
    (ep,) = cfg.endpoints(parse_reference("alpine"))
    assert (ep.host, ep.repository, ep.plain_http_allowed) == (DOCKER_HUB_ENDPOINT, "library/alpine", False)


def test_settings_flags_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert RegistryConfig.load().rules == ()  # no file in the (empty) user config dir
    with pytest.raises(hullscan.SourceError, match="does not exist"):
        RegistryConfig.load(tmp_path / "missing.toml")
    monkeypatch.setenv("HULLSCAN_REGISTRIES", str(tmp_path / "env.toml"))
    with pytest.raises(hullscan.SourceError, match="does not exist"):
        RegistryConfig.load()
    (tmp_path / "env.toml").write_text('[[registry]]\nprefix = "a.example"\ninsecure = true\n')
    cfg = RegistryConfig.load().with_flags(
        insecure=["b.example:5000", "m.example"],
        mirrors=["a.example=m.example/x"],
        rewrites=[f"{DOCKER_HUB}/library=127.0.0.1:7000/hub"],
        ca_files=[f"c.example={tmp_path / 'c.pem'}"],
    )
    (m, a) = cfg.endpoints(parse_reference("a.example/app"))
    assert (m.host, m.repository, m.insecure, a.insecure) == ("m.example", "x/app", True, True)
    (b,) = cfg.endpoints(parse_reference("b.example:5000/app"))
    assert b.insecure
    (c,) = cfg.endpoints(parse_reference("c.example/app"))
    assert c.ca_file == tmp_path / "c.pem"
    assert not c.insecure
    (hub,) = cfg.endpoints(parse_reference("alpine:3"))
    assert (hub.host, hub.repository) == ("127.0.0.1:7000", "hub/alpine")
    with pytest.raises(hullscan.SourceError, match="REGISTRY=LOCATION"):
        RegistryConfig().with_flags(mirrors=["nothing"])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[registry]]\nlocation = 5\n", "needs a prefix"),
        ("[[registry]]\nprefix = 'a'\nlocation = 5\n", "must be a string"),
        ("[[registry]]\nprefix = 'a'\ninsecure = 'yes'\n", "true or false"),
        ("[[registry]]\nprefix = 'a'\nsurprise = 1\n", "unknown key"),
        ("[[registry]]\nprefix = 'https://a'\n", "without a scheme"),
        ("[options]\nconcurrency = 0\n", "concurrency"),
        ("[options]\nretries = 1.5\n", "integers"),
        ("[options]\ntimeout = true\n", "timeout"),
        ("registry = 3\n", "array of tables"),
        ("[other]\n", "unknown key"),
        ("[[registry]\n", "not valid TOML"),
    ],
)
def test_settings_errors(tmp_path: Path, text: str, error: str) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text(text)
    with pytest.raises(hullscan.SourceError, match=error):
        RegistryConfig.load(conf)


# -- challenges, Retry-After ------------------------------------------------------------------------


def test_challenges() -> None:
    (c,) = parse_challenges(
        ['Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"']
    )
    assert c.scheme == "bearer"
    assert c.params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull",
    }
    (c,) = parse_challenges(['Basic realm="Registry Realm"'])
    assert (c.scheme, c.params) == ("basic", {"realm": "Registry Realm"})
    both = parse_challenges(['Basic realm="x", Bearer realm="https://t.example/",service=s'])
    assert [c.scheme for c in both] == ["basic", "bearer"]
    assert both[1].params == {"realm": "https://t.example/", "service": "s"}
    assert parse_challenges(['Bearer realm="a\\"b"'])[0].params["realm"] == 'a"b'
    assert parse_challenges(["Basic"])[0].scheme == "basic"
    assert parse_challenges(["", "garbage ,,, ="]) == [] or all(
        c.scheme for c in parse_challenges(["garbage"])
    )


def test_retry_after() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# -- docker config and credential helpers -----------------------------------------------------------


def _config(where: Path, doc: object) -> None:
    (where / "config.json").write_text(json.dumps(doc) if not isinstance(doc, str) else doc)


def test_docker_config_forms(isolated: Path) -> None:
    import base64

    _config(
        isolated,
        {
            "auths": {
                "https://a.example/v1/": {"auth": base64.b64encode(b"u1:p:w:1").decode()},
                "http://b.example:5000": {"username": "u2", "password": "p2-secret"},
                "c.example": {"identitytoken": "refresh-me"},
                "d.example": {},
                DOCKER_HUB_AUTH_KEY: {"auth": base64.b64encode(b"hub:hubpw").decode()},
            }
        },
    )
    cfg = DockerConfig()
    a = cfg.lookup("a.example")
    assert a is not None
    assert (a.username, a.password) == ("u1", "p:w:1")
    b = cfg.lookup("B.example:5000")
    assert b is not None
    assert (b.username, b.password) == ("u2", "p2-secret")
    c = cfg.lookup("c.example")
    assert c is not None
    assert c.identity_token == "refresh-me"
    assert cfg.lookup("d.example") is None
    hub = cfg.lookup(DOCKER_HUB)
    assert hub is not None
    assert hub.username == "hub"
    # Secrets stay out of repr, and redact() scrubs them.
    assert "p:w:1" not in repr(a)
    assert "refresh-me" not in repr(c)
    assert redact("token p2-secret and p:w:1", [*a.secrets(), *b.secrets()]) == "token *** and ***"


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ('{"auths": {"a.example": {"auth": "%%%%"}}, "secret": "leak-me-1"}', "not base64"),
        ('{"auths": "leak-me-1"', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"credsStore": "absent-helper-zz"}', "not on PATH"),
        ('{"credHelpers": {"a.example": "../evil"}}', "invalid credential helper name"),
    ],
)
def test_docker_config_errors(isolated: Path, doc: str, error: str) -> None:
    _config(isolated, doc)
    with pytest.raises(hullscan.AuthenticationError, match=error) as e:
        CredentialStore().lookup("a.example")
    assert "leak-me-1" not in str(e.value)


def _helper(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    p = bin_dir / f"docker-credential-{name}"
    p.write_text(f"#!{sys.executable}\nimport json, sys\nserver = sys.stdin.read().strip()\n{body}\n")
    p.chmod(0o755)


def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    _helper(
        bin_dir,
        "tok",
        "print(json.dumps({'ServerURL': server, 'Username': '<token>', 'Secret': 'id-' + server}))",
    )
    _helper(bin_dir, "fail", "print('secret-output-zz'); sys.stderr.write('boom'); sys.exit(3)")
    _helper(bin_dir, "notjson", "print('secret-output-zz')")
    _helper(bin_dir, "slow", "import time; time.sleep(60)")
    cred = run_helper("tok", "a.example")
    assert cred is not None
    assert cred.identity_token == "id-a.example"
    assert cred.source == "credential helper docker-credential-tok"
    for name, error in (("fail", "failed for a.example .exit 3"), ("notjson", "not JSON")):
        with pytest.raises(hullscan.AuthenticationError, match=error) as e:
            run_helper(name, "a.example")
        assert "secret-output-zz" not in str(e.value)
    monkeypatch.setattr("hullscan.auth.HELPER_TIMEOUT", 0.5)
    t0 = time.monotonic()
    with pytest.raises(hullscan.AuthenticationError, match="did not answer"):
        run_helper("slow", "a.example")
    assert time.monotonic() - t0 < 5


# -- a hostile registry -----------------------------------------------------------------------------


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Hostile:
    """Serves ``routes`` (path -> (status, headers, body)) on 127.0.0.1 and records requests."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    #: When set, every request without this Authorization gets a Basic challenge.
    require: str | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def manifest(self, repo: str, ref: str, doc: Any, ctype: str | None = None) -> str:
        data = json.dumps(doc).encode() if not isinstance(doc, bytes) else doc
        ctype = ctype or (doc.get("mediaType") if isinstance(doc, dict) else None) or "application/json"
        for r in (ref, sha(data)):
            self.routes[f"/v2/{repo}/manifests/{r}"] = (200, {"Content-Type": ctype}, data)
        return sha(data)

    def blob(self, repo: str, data: bytes, digest: str | None = None, served: bytes | None = None) -> str:
        d = digest or sha(data)
        self.routes[f"/v2/{repo}/blobs/{d}"] = (200, {}, served if served is not None else data)
        return d


class Serve:
    """Serve a :class:`Hostile` on 127.0.0.1 while in the ``with`` block."""

    def __init__(self, h: Hostile) -> None:
        self.h = h

    def __enter__(self) -> Hostile:
        h = self.h

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                h.seen.append((self.path, dict(self.headers.items())))
                status, headers, body = h.routes.get(
                    self.path, (404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}')
                )
                if self.path == "/v2/":
                    status, headers, body = 200, {}, b"{}"
                if h.require is not None and self.headers.get("Authorization") != h.require:
                    status, headers, body = 401, {"WWW-Authenticate": 'Basic realm="hostile"'}, b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        h.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return h

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Serve(Hostile()) as h:
        yield h


FAST = RegistryConfig.from_dict({"options": {"retries": 1, "backoff": 0.01}})
OCI_M = "application/vnd.oci.image.manifest.v1+json"
OCI_I = "application/vnd.oci.image.index.v1+json"


def _image(h: Hostile, repo: str, layer: bytes = b"x" * 100, served: bytes | None = None) -> dict[str, Any]:
    config = json.dumps(
        {"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}
    ).encode()
    return {
        "schemaVersion": 2,
        "mediaType": OCI_M,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": h.blob(repo, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": h.blob(repo, layer, served=served),
                "size": len(layer),
            }
        ],
    }


def test_hostile_documents(hostile: Hostile, isolated: Path) -> None:
    h = hostile
    inv = lambda ref: hullscan.inventory(f"registry:{h.host}/{ref}", registries=FAST)  # noqa: E731
    # A manifest that says it is larger than any document.
    h.routes["/v2/big/manifests/1"] = (200, {"Content-Length": str(1 << 30), "Content-Type": OCI_M}, b"{}")
    with pytest.raises(hullscan.LimitExceededError, match="manifest 1"):
        inv("big:1")
    # Schema 1.
    h.manifest(
        "old",
        "1",
        {"schemaVersion": 1, "name": "old", "fsLayers": []},
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    )
    with pytest.raises(hullscan.ImageFormatError, match="schema 1"):
        inv("old:1")
    # Indexes nested deeper than anyone nests them.
    digest = h.manifest("deep", "image", _image(h, "deep"))
    for i in range(6):
        digest = h.manifest(
            "deep",
            f"level{i}",
            {
                "schemaVersion": 2,
                "mediaType": OCI_I,
                "manifests": [
                    {
                        "mediaType": OCI_I if i else OCI_M,
                        "digest": digest,
                        "size": 1,
                        "platform": {"os": "linux", "architecture": "amd64"},
                    }
                ],
            },
        )
    h.routes["/v2/deep/manifests/1"] = h.routes[f"/v2/deep/manifests/{digest}"]
    with pytest.raises(hullscan.ImageFormatError, match="nested deeper"):
        inv("deep:1")
    # A registry that names the manifest by another digest.
    data = json.dumps(_image(h, "liar")).encode()
    h.routes["/v2/liar/manifests/1"] = (
        200,
        {"Content-Type": OCI_M, "Docker-Content-Digest": f"sha256:{HEX}"},
        data,
    )
    with pytest.raises(hullscan.DigestMismatchError, match="names it"):
        inv("liar:1")
    # Pulled by digest, but the content is another.
    h.routes[f"/v2/liar/manifests/sha256:{HEX}"] = (200, {"Content-Type": OCI_M}, data)
    with pytest.raises(hullscan.DigestMismatchError):
        inv(f"liar@sha256:{HEX}")
    # A layer with a negative size; an index with too many entries.
    m = _image(h, "neg")
    m["layers"][0]["size"] = -1
    h.manifest("neg", "1", m)
    with pytest.raises(hullscan.ImageFormatError, match="size"):
        inv("neg:1")
    many = {
        "schemaVersion": 2,
        "mediaType": OCI_I,
        "manifests": [
            {
                "mediaType": OCI_M,
                "digest": f"sha256:{HEX}",
                "size": 1,
                "platform": {"os": "linux", "architecture": f"a{i}"},
            }
            for i in range(20_000)
        ],
    }
    h.manifest("many", "1", many)
    with pytest.raises(hullscan.LimitExceededError):
        inv("many:1")
    # Nothing of any of it is in the blob cache under a wrong name.
    cache = Path(__import__("os").environ["HULLSCAN_CACHE_DIR"]) / "blobs/sha256"
    for p in cache.iterdir():
        assert sha(p.read_bytes())[7:] == p.name


def test_hostile_blobs(hostile: Hostile, isolated: Path) -> None:
    h = hostile
    layer = b"x" * 100
    # Longer than declared: stopped at the declared size + the first extra chunk, then refused.
    h.manifest("long", "1", _image(h, "long", layer, served=layer + b"y" * (4 << 20)))
    with pytest.raises(hullscan.DigestMismatchError, match="longer than"):
        hullscan.inventory(f"registry:{h.host}/long:1", registries=FAST)
    # A not-found blob is a typed error naming it.
    m = _image(h, "gone", layer)
    del h.routes[f"/v2/gone/blobs/{m['layers'][0]['digest']}"]
    h.manifest("gone", "1", m)
    with pytest.raises(hullscan.ImageNotFoundError, match="blob sha256:"):
        hullscan.inventory(f"registry:{h.host}/gone:1", registries=FAST)
    cache = Path(__import__("os").environ["HULLSCAN_CACHE_DIR"])
    assert list((cache / "blobs/tmp").glob("*.part")) == []


def test_redirect_leaves_credentials_behind(hostile: Hostile, isolated: Path) -> None:
    """Blob storage elsewhere (another host:port) gets the redirect, not the Authorization."""
    import base64

    storage = Hostile()
    with Serve(storage):
        h = hostile
        layer = b"\x00" * 1024  # an empty tar: two zero blocks
        m = _image(h, "app", layer)
        digest = m["layers"][0]["digest"]
        storage.routes[f"/store/{digest[7:]}?sig=abc"] = (200, {}, layer)
        h.routes[f"/v2/app/blobs/{digest}"] = (
            307,
            {"Location": f"http://{storage.host}/store/{digest[7:]}?sig=abc"},
            b"",
        )
        h.manifest("app", "1", m)
        basic = base64.b64encode(b"u:pw-zz").decode()
        _config(isolated, {"auths": {h.host: {"auth": basic}}})
        h.require = f"Basic {basic}"
        inv = hullscan.inventory(f"registry:{h.host}/app:1", registries=FAST)
        assert inv.layers[0].digest == digest
        # The registry got the credentials on every request after its challenge ...
        assert all(hd.get("Authorization") == h.require for p, hd in h.seen if p.startswith("/v2/app/"))
        # ... and the storage host none.
        assert [p for p, _ in storage.seen] == [f"/store/{digest[7:]}?sig=abc"]
        assert "Authorization" not in storage.seen[0][1]


def test_unreachable_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(hullscan.DaemonError, match="cannot reach the Docker daemon"):
        hullscan.inventory("docker:alpine:3.10")
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    with pytest.raises(hullscan.DaemonError):
        hullscan.inventory("docker:alpine:3.10")


def test_credential_store_caches_and_collects_secrets(isolated: Path) -> None:
    _config(isolated, {"auths": {"a.example": {"username": "u", "password": "pw-1234"}}})
    store = CredentialStore()
    first = store.lookup("x.example", "a.example")
    assert isinstance(first, Credential)
    (isolated / "config.json").unlink()
    assert store.lookup("a.example") is first  # read once per store
    assert "pw-1234" in store.secrets
