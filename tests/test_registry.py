"""Issue 5, must-shows 1-4: images pulled from real registries started here on 127.0.0.1.

- 1: images from ../shared/data (single- and multi-platform) pushed with skopeo as Docker schema 2
  and as OCI are inventoried and scanned by reference with the same results as from their
  archives; plain HTTP, TLS with a CA made here, htpasswd basic auth, and token auth (a token
  server run here, the registry configured with ``auth: token``); credentials from the docker
  config file's ``auths``, ``credHelpers`` and ``credsStore`` (a helper script written here).
- 2: Amazon ECR: a moto server answers GetAuthorizationToken; the ECR name is rewritten by the
  registry settings file to a registry whose htpasswd holds the password moto hands out.
- 3: an image sharing its base layer with one scanned before fetches only its new blobs (the
  registry's access log says which); a warm scan fetches no blob.
- 4: faults through a fault-injecting proxy: 500 then 200, 429 with Retry-After, a connection cut
  mid-blob (resumed with Range), a wrong blob (typed error, cache unpolluted), wrong credentials
  (typed error, no secret in any message, log or output).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, require_tool
from hullscan.cli import main as cli_main
from hullscan.sources.registry_config import RegistryConfig
from imagebuild import extract_rootfs, oci_add_dir, oci_init, run
from registry_servers import (
    Fault,
    FaultProxy,
    Moto,
    Registry,
    TokenServer,
    free_port,
    htpasswd,
    make_ca,
    push,
)

ECR_ACCOUNT = "123456789012"
ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
ALICE = ("alice", "s3cret-Alice-pw-7781")
BOB = ("bob", "t0ken-Bob-pw-4412")
FAST = {"retries": 3, "backoff": 0.05}


@pytest.fixture(autouse=True)
def isolated_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No docker config, registry settings or AWS configuration from the machine leaks in."""
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HULLSCAN_REGISTRIES", raising=False)
    for var in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ECR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    hullscan.auth.ECR_TOKENS.clear()
    return docker_config


def write_docker_config(docker_config: Path, doc: dict[str, object]) -> None:
    (docker_config / "config.json").write_text(json.dumps(doc))


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# -- images -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """An image to push (``src``, a skopeo source) and the same image as hullscan reads it from a
    file (``archive``)."""

    src: str
    archive: str
    platforms: tuple[str, ...] = ("linux/amd64",)
    all_platforms: bool = False


@dataclass(frozen=True)
class Images:
    by_name: dict[str, Image]
    layout: Path  # umoci layout with tags base, app (base + a layer of Python packages)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> Images:
    require_tool("skopeo")
    require_tool("umoci")
    work = tmp_path_factory.mktemp("registry-images")
    # The umoci-packed Alpine 3.20.3 layout (a tar holding an oci-alpine/ folder).
    shared_oci = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"
    run("tar", "-xf", shared_oci, "-C", work)
    # trivy's `docker save` of alpine:3.10, gzip-compressed: skopeo 1.9 reads only plain tars.
    shared_docker = DATA / "images/docker-archive/trivy-alpine-310.docker-archive.tar.gz"
    plain = work / "alpine-310.docker.tar"
    with open(plain, "wb") as out:
        subprocess.run(["gzip", "-dc", str(shared_docker)], stdout=out, check=True)
    # stereoscope's buildkit-made two-platform OCI layout.
    stereo = edge_fixtures / "stereoscope/pkg/image/oci/testdata/multiplatform_oci_dir"
    # Alpine 3.20.3 for amd64 and arm64 (the minirootfs releases), one index.
    layout = work / "layout"
    for tb, tag, arch in (
        ("alpine-minirootfs-3.20.3-x86_64.tar.gz", "amd64", "amd64"),
        ("alpine-minirootfs-3.20.3-aarch64.tar.gz", "arm64", "arm64"),
    ):
        rootfs = extract_rootfs(DATA / "images/alpine-minirootfs" / tb, work / "rootfs" / tag)
        ref = oci_init(layout, tag)
        oci_add_dir(ref, rootfs, "/")
        run("umoci", "config", "--image", ref, f"--architecture={arch}")
    _write_index(
        layout,
        "multi",
        {
            "amd64": {"os": "linux", "architecture": "amd64"},
            "arm64": {"os": "linux", "architecture": "arm64", "variant": "v8"},
        },
    )
    # base + app: app adds a layer of Python packages (syft's dist-info / egg-info test tree).
    run("umoci", "tag", "--image", f"{layout}:amd64", "base")
    run("umoci", "tag", "--image", f"{layout}:amd64", "app")
    pkgs = edge_fixtures / "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage/pkgs/python"
    oci_add_dir(f"{layout}:app", pkgs, "/usr/lib/python3.12/site-packages")
    # many: base + three more layers (syft's Rust, Go and PHP test trees).
    run("umoci", "tag", "--image", f"{layout}:amd64", "many")
    for eco in ("rust", "go", "php"):
        oci_add_dir(f"{layout}:many", pkgs.parent / eco, f"/srv/{eco}")
    return Images(
        {
            "alpine-oci": Image(f"oci:{work / 'oci-alpine'}:3.20.3", str(shared_oci)),
            "alpine-docker": Image(f"docker-archive:{plain}", str(shared_docker)),
            "multi-stereoscope": Image(
                f"oci:{stereo}:latest", f"oci-dir:{stereo}", ("linux/amd64", "linux/arm64"), True
            ),
            "multi-alpine": Image(
                f"oci:{layout}:multi", f"oci-dir:{layout}:multi", ("linux/amd64", "linux/arm64/v8"), True
            ),
        },
        layout,
    )


def _write_index(layout: Path, tag: str, platforms: dict[str, dict[str, str]]) -> None:
    import hashlib

    index = json.loads((layout / "index.json").read_text())
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    manifests = []
    for t, plat in platforms.items():
        d = {k: v for k, v in by_tag[t].items() if k != "annotations"}
        d["platform"] = plat
        manifests.append(d)
    data = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    ).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256" / digest).write_bytes(data)
    index["manifests"].append(
        {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": "sha256:" + digest,
            "size": len(data),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
    )
    (layout / "index.json").write_text(json.dumps(index))


# -- servers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    require_tool("docker-registry")
    r = Registry(tmp_path_factory.mktemp("registry-plain"))
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="session")
def pushed(plain_registry: Registry, images: Images) -> dict[tuple[str, str], str]:
    """Every image pushed to the plain registry as Docker schema 2 and as OCI."""
    out = {}
    for name, img in images.by_name.items():
        for fmt in ("v2s2", "oci"):
            out[(name, fmt)] = push(
                img.src, plain_registry, f"{name}-{fmt}:1", fmt=fmt, all_platforms=img.all_platforms
            )
    return out


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> object:
    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def basic_registry(
    tmp_path_factory: pytest.TempPathFactory, tls: object, images: Images
) -> Iterator[Registry]:
    """TLS with the test's CA, htpasswd (bcrypt) auth; holds alpine-oci as app:1."""
    work = tmp_path_factory.mktemp("registry-basic")
    r = Registry(work, tls=tls, htpasswd_file=htpasswd(work / "htpasswd", dict([ALICE])))  # type: ignore[arg-type]
    try:
        push(images.by_name["alpine-oci"].src, r, "app:1", fmt="v2s2", creds=":".join(ALICE))
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, images: Images
) -> Iterator[tuple[Registry, TokenServer]]:
    """Plain HTTP with ``auth: token``: a token server issuing JWTs for bob; holds alpine-docker."""
    work = tmp_path_factory.mktemp("registry-token")
    ts = TokenServer(work / "token", dict([BOB]))
    try:
        r = Registry(work / "registry", token=ts.registry_settings())
        try:
            push(images.by_name["alpine-docker"].src, r, "team/app:1", fmt="oci", creds=":".join(BOB))
            yield r, ts
        finally:
            r.stop()
    finally:
        ts.stop()


@pytest.fixture
def proxy(plain_registry: Registry) -> Iterator[FaultProxy]:
    p = FaultProxy(plain_registry.host)
    try:
        yield p
    finally:
        p.stop()


# -- helpers ----------------------------------------------------------------------------------------


def same_image(a: hullscan.Inventory, b: hullscan.Inventory) -> None:
    """Same image content: distro, layers (by diff_id), packages (layer digests aside: a registry
    may hold a recompressed blob), platform. (Not the config digest: skopeo rewrites a Docker
    config as an OCI one when it converts.)"""
    assert a.distro == b.distro
    assert [layer.diff_id for layer in a.layers] == [layer.diff_id for layer in b.layers]
    assert a.platform == b.platform

    def norm(p: hullscan.Package) -> hullscan.Package:
        return dataclasses.replace(p, layer_digest="")

    assert [norm(p) for p in a.packages] == [norm(p) for p in b.packages]


def registry_manifest(host: str, name: str, ref: str, auth: str | None = None) -> dict[str, object]:
    """The manifest as the registry serves it, read here with urllib (an independent reader)."""
    accept = ",".join(hullscan.sources.registry.ACCEPT)
    headers = {"Accept": accept}
    if auth:
        headers["Authorization"] = auth
    req = urllib.request.Request(f"http://{host}/v2/{name}/manifests/{ref}", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        doc = json.loads(resp.read())
        # The media type as served (OCI documents may leave out their own mediaType field).
        doc.setdefault("mediaType", resp.headers["Content-Type"])
        return doc  # type: ignore[no-any-return]


def settings(**rules: object) -> RegistryConfig:
    return RegistryConfig.from_dict({"options": FAST, **rules})


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


# -- must-show 1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["v2s2", "oci"])
@pytest.mark.parametrize("name", ["alpine-oci", "alpine-docker", "multi-stereoscope", "multi-alpine"])
def test_pull_matches_archive(
    name: str, fmt: str, images: Images, pushed: dict[tuple[str, str], str], plain_registry: Registry
) -> None:
    img = images.by_name[name]
    ref = pushed[(name, fmt)]
    host, _, rest = ref.partition("/")
    repo, _, tag = rest.partition(":")
    top = registry_manifest(host, repo, tag)
    want_types = {
        "v2s2": (
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
        "oci": ("application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"),
    }[fmt]
    assert top["mediaType"] == want_types[0 if img.all_platforms else 1]
    for plat in img.platforms:
        from_registry = hullscan.inventory(f"registry:{ref}", platform=plat)
        from_archive = hullscan.inventory(img.archive, platform=plat, use_cache=False)
        same_image(from_registry, from_archive)
        assert from_registry.source == f"registry:{ref}"
        assert from_registry.repo_tags == (ref,)
        # The layers are the blobs the registry's manifest names (read here independently).
        manifest = top
        if img.all_platforms:
            _, arch, *variant = plat.split("/")
            (desc,) = [
                m
                for m in top["manifests"]  # type: ignore[attr-defined]
                if m["platform"]["architecture"] == arch and m["platform"].get("variant") in (None, *variant)
            ]
            manifest = registry_manifest(host, repo, desc["digest"])
            assert from_registry.manifest_digest == desc["digest"]
        assert [layer.digest for layer in from_registry.layers] == [
            d["digest"]
            for d in manifest["layers"]  # type: ignore[attr-defined]
        ]
        assert from_registry.config_digest == manifest["config"]["digest"]  # type: ignore[index]
        if "alpine" in name:
            assert len(from_registry.packages) >= 14
            assert {p.kind for p in from_registry.packages} == {"apk"}


def test_scan_by_reference_matches_archive(
    pushed: dict[tuple[str, str], str], images: Images, tmp_path: Path
) -> None:
    from hullscan import db

    secdb = tmp_path / "secdb"
    secdb.mkdir()
    data = subprocess.run(
        ["zstd", "-dc", str(DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst")],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(secdb)], input=data, check=True)
    db.import_paths([secdb / "vuln-list-alpine-3.20-main"])
    ref = pushed[("alpine-oci", "oci")]
    by_ref = hullscan.scan(f"registry:{ref}", offline=True)
    by_archive = hullscan.scan(images.by_name["alpine-oci"].archive, offline=True)

    def key(r: hullscan.ScanResult) -> list[tuple[str, str, str, tuple[str, ...]]]:
        return sorted((f.id, f.package.name, f.installed_version, f.fixed_versions) for f in r.findings)

    assert key(by_ref) == key(by_archive)
    assert any(f.package.name == "busybox" for f in by_ref.findings)
    # Bare reference (not a path), through the CLI, as JSON.
    code, out, err = cli("scan", ref, "--offline", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(f["id"] for f in doc["findings"]) == sorted(f.id for f in by_ref.findings)


def test_tls_with_test_ca_and_htpasswd(
    basic_registry: Registry, tls: object, images: Images, isolated_credentials: Path
) -> None:
    ref = f"registry:{basic_registry.host}/app:1"
    ca = settings(registry=[{"prefix": basic_registry.host, "ca_file": str(tls.ca_cert)}])  # type: ignore[attr-defined]
    # No CA: the certificate is not trusted, and the message says what to do.
    with pytest.raises(hullscan.RegistryError, match=r"certificate not trusted.*ca_file"):
        hullscan.inventory(ref, registries=settings())
    # CA but no credentials: the registry's Basic challenge cannot be answered.
    with pytest.raises(hullscan.AuthenticationError, match="requires credentials"):
        hullscan.inventory(ref, registries=ca)
    # Credentials from the docker config file: auths with base64 user:password.
    write_docker_config(isolated_credentials, {"auths": {basic_registry.host: {"auth": b64(*ALICE)}}})
    inv = hullscan.inventory(ref, registries=ca)
    same_image(inv, hullscan.inventory(images.by_name["alpine-oci"].archive, use_cache=False))
    # ... and with username / password fields under an https:// key.
    write_docker_config(
        isolated_credentials,
        {"auths": {f"https://{basic_registry.host}": {"username": ALICE[0], "password": ALICE[1]}}},
    )
    assert hullscan.inventory(ref, registries=ca, use_cache=False).packages == inv.packages
    # --insecure-registry: TLS without verification instead of the CA.
    code, out, err = cli("inventory", ref, "--insecure-registry", basic_registry.host, "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)["packages"]) == len(inv.packages)
    # Every request over TLS to the registry was authenticated once the challenge was known.
    statuses = [s for m, p, s in basic_registry.requests() if p.startswith("/v2/app/manifests/")]
    assert 200 in statuses


def _helper(bin_dir: Path, name: str, answers: dict[str, tuple[str, str]], log: Path) -> None:
    """A docker-credential-NAME program: `get` reads a server on stdin and answers from ``answers``."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"answers = {json.dumps({k: list(v) for k, v in answers.items()})}\n"
        "assert sys.argv[1:] == ['get'], sys.argv\n"
        "server = sys.stdin.read().strip()\n"
        f"open({str(log)!r}, 'a').write(server + '\\n')\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "user, secret = answers[server]\n"
        "print(json.dumps({'ServerURL': server, 'Username': user, 'Secret': secret}))\n"
    )
    script.chmod(0o755)


def test_token_auth_with_credential_helper(
    token_registry: tuple[Registry, TokenServer],
    images: Images,
    isolated_credentials: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, ts = token_registry
    ref = f"registry:{registry.host}/team/app:1"
    archive = hullscan.inventory(images.by_name["alpine-docker"].archive, use_cache=False)
    # Anonymous: the token server issues a token without access; the registry refuses it.
    with pytest.raises(hullscan.AuthenticationError, match="requires credentials"):
        hullscan.inventory(ref)
    assert ts.issued[-1] == (None, "repository:team/app:pull")
    # credHelpers: a helper for this registry only.
    log = tmp_path / "helper.log"
    _helper(tmp_path / "bin", "hstest", {registry.host: BOB}, log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    write_docker_config(isolated_credentials, {"credHelpers": {registry.host: "hstest"}})
    mark = registry.log_mark()
    inv = hullscan.inventory(ref)
    same_image(inv, archive)
    assert log.read_text().split() == [registry.host]
    assert ts.issued[-1] == ("bob", "repository:team/app:pull")
    reqs = registry.requests(mark)
    # One token for the repository served every request: manifest, config and layer all 200.
    assert [s for _, p, s in reqs if "/team/app/" in p] == [200] * 3
    # credsStore: the helper for every registry (asked for this one, answers from its store).
    write_docker_config(isolated_credentials, {"credsStore": "hstest", "auths": {registry.host: {}}})
    issued = len(ts.issued)
    assert hullscan.inventory(ref, use_cache=False).packages == inv.packages
    # The same credentials and scope: the token issued before is still valid and is reused.
    assert len(ts.issued) == issued
    assert log.read_text().split() == [registry.host] * 2
    # A helper with nothing for the registry falls back to auths, then to anonymous.
    _helper(tmp_path / "bin", "empty", {}, log)
    write_docker_config(
        isolated_credentials, {"credsStore": "empty", "auths": {registry.host: {"auth": b64(*BOB)}}}
    )
    assert hullscan.inventory(ref, use_cache=False).packages == inv.packages


# -- must-show 2: Amazon ECR ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ecr_registry(tmp_path_factory: pytest.TempPathFactory, moto: Moto, images: Images) -> Iterator[Registry]:
    """A registry whose htpasswd holds user AWS with the password moto's token carries."""
    import boto3

    client = boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    token = client.get_authorization_token(registryIds=[ECR_ACCOUNT])["authorizationData"][0][
        "authorizationToken"
    ]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    work = tmp_path_factory.mktemp("registry-ecr")
    r = Registry(work, htpasswd_file=htpasswd(work / "htpasswd", {user: password}))
    try:
        push(images.by_name["alpine-oci"].src, r, "app:1.0", fmt="oci", creds=f"{user}:{password}")
        yield r
    finally:
        r.stop()


def test_ecr_through_moto_and_rewrite(
    moto: Moto, ecr_registry: Registry, images: Images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "registries.toml"
    conf.write_text(f'[[registry]]\nprefix = "{ECR_HOST}"\nlocation = "{ecr_registry.host}"\n')
    monkeypatch.setenv("HULLSCAN_REGISTRIES", str(conf))
    ref = f"{ECR_HOST}/app:1.0"
    # Without AWS credentials: a clear error naming where they are looked for.
    with pytest.raises(hullscan.AuthenticationError, match="no AWS credentials"):
        hullscan.inventory(ref)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
    calls = moto.log.read_text().count('"POST / HTTP/1.1" 200')
    mark = ecr_registry.log_mark()
    inv = hullscan.inventory(ref)
    same_image(inv, hullscan.inventory(images.by_name["alpine-oci"].archive, use_cache=False))
    assert inv.source == f"registry:{ref}"
    time.sleep(0.1)
    assert moto.log.read_text().count('"POST / HTTP/1.1" 200') == calls + 1
    # The registry (htpasswd: user AWS, moto's password) accepted every request.
    reqs = [(p, s) for _, p, s in ecr_registry.requests(mark) if p != "/v2/"]
    assert reqs
    assert all(s == 200 for _, s in reqs)
    # The token moto hands out expires in the past (moto's fixed 2015 date): it is not reused.
    hullscan.inventory(ref, use_cache=False)
    time.sleep(0.1)
    assert moto.log.read_text().count('"POST / HTTP/1.1" 200') == calls + 2


def test_ecr_token_cached_until_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token that is still valid is reused without asking ECR (whose endpoint here is closed)."""
    from hullscan.auth import Credential, EcrTokens

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    tokens = EcrTokens()
    valid = Credential("AWS", "pw", "seeded", expires_at=time.time() + 3600)
    tokens._tokens[(ECR_ACCOUNT, "us-east-1", None)] = valid
    assert tokens.lookup(ECR_HOST) is valid
    tokens._tokens[(ECR_ACCOUNT, "us-east-1", None)] = dataclasses.replace(valid, expires_at=time.time() + 30)
    with pytest.raises(hullscan.AuthenticationError, match=r"GetAuthorizationToken .* failed"):
        tokens.lookup(ECR_HOST)  # inside the expiry margin: asks again (and cannot connect)
    assert tokens.lookup("127.0.0.1:5000") is None


# -- must-show 3: shared layers, warm scans ---------------------------------------------------------


def test_shared_base_layers_fetch_only_new_blobs(plain_registry: Registry, images: Images) -> None:
    base = push(f"oci:{images.layout}:base", plain_registry, "shared/base:1", fmt="v2s2")
    app = push(f"oci:{images.layout}:app", plain_registry, "shared/app:1", fmt="v2s2")
    mark = plain_registry.log_mark()
    inv_base = hullscan.inventory(f"registry:{base}")
    base_blobs = plain_registry.blob_gets(mark)
    assert set(base_blobs) == {inv_base.layers[0].digest, inv_base.config_digest}
    mark = plain_registry.log_mark()
    inv_app = hullscan.inventory(f"registry:{app}")
    new_blobs = plain_registry.blob_gets(mark)
    # Only the app's own layer and its config: the base layer was analysed before.
    assert len(inv_app.layers) == 2
    assert inv_app.layers[0].digest == inv_base.layers[0].digest
    assert sorted(new_blobs) == sorted([inv_app.layers[1].digest, inv_app.config_digest])
    assert [layer.cached for layer in inv_app.layers] == [True, False]
    python = {p.name for p in inv_app.packages if p.kind == "python"}
    assert python
    assert all(p.layer_index == 1 for p in inv_app.packages if p.kind == "python")
    assert all(p.layer_index == 0 for p in inv_app.packages if p.kind == "apk")
    # Warm: no blob at all.
    mark = plain_registry.log_mark()
    warm = hullscan.inventory(f"registry:{app}")
    assert plain_registry.blob_gets(mark) == []
    assert warm.packages == inv_app.packages
    # Layer cache off: the verified blobs in the blob cache are used, not downloaded again.
    mark = plain_registry.log_mark()
    assert hullscan.inventory(f"registry:{app}", use_cache=False).packages == inv_app.packages
    assert plain_registry.blob_gets(mark) == []


def test_progress_only_when_asked_or_on_a_terminal(
    pushed: dict[tuple[str, str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref = pushed[("alpine-oci", "v2s2")]
    hullscan.inventory(f"registry:{ref}")
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    hullscan.inventory(f"registry:{ref}", progress=True, use_cache=False)
    err = capsys.readouterr().err
    assert "pulling" in err
    assert "1/1 layers" in err
    assert "[########################] 100%" in err


# -- must-show 4: faults ----------------------------------------------------------------------------


def _proxied(proxy: FaultProxy, pushed: dict[tuple[str, str], str], key: tuple[str, str]) -> str:
    return "registry:" + proxy.host + "/" + pushed[key].split("/", 1)[1]


def _layer_digest(plain_registry: Registry, pushed: dict[tuple[str, str], str]) -> tuple[str, int]:
    _, _, rest = pushed[("alpine-oci", "v2s2")].partition("/")
    repo, _, tag = rest.partition(":")
    m = registry_manifest(plain_registry.host, repo, tag)
    layer = m["layers"][0]  # type: ignore[index]
    return layer["digest"], layer["size"]


def test_fault_500_then_200(proxy: FaultProxy, pushed: dict[tuple[str, str], str], images: Images) -> None:
    proxy.add(Fault(r"/manifests/", "status", status=500))
    proxy.add(Fault(r"/blobs/", "status", status=503))
    inv = hullscan.inventory(_proxied(proxy, pushed, ("alpine-oci", "v2s2")), registries=settings())
    same_image(inv, hullscan.inventory(images.by_name["alpine-oci"].archive, use_cache=False))
    manifests = [s.status for s in proxy.seen if "/manifests/" in s.path]
    assert manifests == [500, 200]
    assert sum(1 for s in proxy.seen if s.status == 503) == 1


def test_fault_500_forever_is_a_registry_error(proxy: FaultProxy, pushed: dict[tuple[str, str], str]) -> None:
    proxy.add(Fault(r"/manifests/", "status", status=502, times=100))
    with pytest.raises(hullscan.RegistryError, match="HTTP 502"):
        hullscan.inventory(_proxied(proxy, pushed, ("alpine-oci", "v2s2")), registries=settings())
    assert sum(1 for s in proxy.seen if "/manifests/" in s.path) == FAST["retries"] + 1


def test_fault_429_retry_after(
    proxy: FaultProxy, pushed: dict[tuple[str, str], str], plain_registry: Registry
) -> None:
    digest, _ = _layer_digest(plain_registry, pushed)
    proxy.add(Fault(f"/blobs/{digest}$", "retry-after", retry_after=1))
    hullscan.inventory(_proxied(proxy, pushed, ("alpine-oci", "v2s2")), registries=settings())
    blob = [s for s in proxy.seen if s.path.endswith(digest)]
    assert [s.status for s in blob] == [429, 200]
    assert blob[1].at - blob[0].at >= 0.95  # Retry-After: 1, not the 0.05 s backoff
    # A Retry-After beyond max_retry_after fails at once, saying so.
    proxy.clear()
    proxy.add(Fault(f"/blobs/{digest}$", "retry-after", retry_after=3600))
    with pytest.raises(hullscan.RegistryError, match="retry after 3600 s"):
        _cold(proxy, pushed)


def _cold(proxy: FaultProxy, pushed: dict[tuple[str, str], str]) -> None:
    cache = Path(os.environ["HULLSCAN_CACHE_DIR"])
    shutil.rmtree(cache, ignore_errors=True)
    hullscan.inventory(_proxied(proxy, pushed, ("alpine-oci", "v2s2")), registries=settings())


def test_fault_cut_mid_blob_is_resumed(
    proxy: FaultProxy, pushed: dict[tuple[str, str], str], plain_registry: Registry, images: Images
) -> None:
    digest, size = _layer_digest(plain_registry, pushed)
    cut = size // 3
    proxy.add(Fault(f"/blobs/{digest}$", "cut", cut_after=cut))
    mark = plain_registry.log_mark()
    inv = hullscan.inventory(_proxied(proxy, pushed, ("alpine-oci", "v2s2")), registries=settings())
    same_image(inv, hullscan.inventory(images.by_name["alpine-oci"].archive, use_cache=False))
    blob = [s for s in proxy.seen if s.path.endswith(digest)]
    assert len(blob) == 2
    assert "Range" not in blob[0].headers
    assert blob[1].headers.get("Range") == f"bytes={cut}-"
    # The registry served the rest as a partial response.
    assert [s for m, p, s in plain_registry.requests(mark) if p.endswith(digest)] == [200, 206]


def test_fault_wrong_blob_is_discarded(
    proxy: FaultProxy, pushed: dict[tuple[str, str], str], plain_registry: Registry, isolated_cache: Path
) -> None:
    digest, _ = _layer_digest(plain_registry, pushed)
    proxy.add(Fault(f"/blobs/{digest}$", "corrupt", times=100))
    ref = _proxied(proxy, pushed, ("alpine-oci", "v2s2"))
    with pytest.raises(hullscan.DigestMismatchError, match=f"{digest}.*discarded"):
        hullscan.inventory(ref, registries=settings())
    # Nothing of it was kept: no blob, no partial download, no layer result.
    assert not (isolated_cache / "blobs/sha256" / digest[7:]).exists()
    assert list((isolated_cache / "blobs/tmp").iterdir()) == []
    assert list((isolated_cache / "layers").rglob("*.json")) == []
    # The next pull, with the fault gone, is clean.
    proxy.clear()
    inv = hullscan.inventory(ref, registries=settings())
    assert inv.layers[0].digest == digest
    assert not inv.layers[0].cached


def test_wrong_credentials_never_leak(
    basic_registry: Registry,
    token_registry: tuple[Registry, TokenServer],
    tls: object,
    isolated_credentials: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token_reg, ts = token_registry
    wrong = "Wr0ng-pa55word-zz91"
    secrets = [wrong, b64(ALICE[0], wrong), b64(BOB[0], wrong)]
    write_docker_config(
        isolated_credentials,
        {
            "auths": {
                basic_registry.host: {"auth": b64(ALICE[0], wrong)},
                token_reg.host: {"auth": b64(BOB[0], wrong)},
            }
        },
    )
    ca = settings(registry=[{"prefix": basic_registry.host, "ca_file": str(tls.ca_cert)}])  # type: ignore[attr-defined]
    caplog.set_level(logging.DEBUG)
    messages = []
    with pytest.raises(hullscan.AuthenticationError) as e1:
        hullscan.inventory(f"registry:{basic_registry.host}/app:1", registries=ca)
    messages.append(str(e1.value))
    assert "refused the credentials" in str(e1.value)
    assert "alice" in str(e1.value)
    with pytest.raises(hullscan.AuthenticationError) as e2:
        hullscan.inventory(f"registry:{token_reg.host}/team/app:1")
    messages.append(str(e2.value))
    assert "refused" in str(e2.value)
    assert ts.issued[-1] == ("!", "repository:team/app:pull")
    conf = tmp_path / "r.toml"
    conf.write_text(f'[[registry]]\nprefix = "{basic_registry.host}"\nca_file = "{tls.ca_cert}"\n')  # type: ignore[attr-defined]
    for ref in (f"{basic_registry.host}/app:1", f"{token_reg.host}/team/app:1"):
        for cmd in ("inventory", "scan"):
            args = [cmd, ref, "--registry-config", str(conf), *(["--offline"] if cmd == "scan" else [])]
            proc = subprocess.run(
                [sys.executable, "-m", "hullscan.cli", *args], capture_output=True, text=True, check=False
            )
            assert proc.returncode == 2
            assert "AuthenticationError" in proc.stderr
            messages += [proc.stdout, proc.stderr]
    logs = [r.getMessage() for r in caplog.records]
    for text in messages + logs:
        for s in secrets:
            assert s not in text


# -- mirrors, rewrites, concurrency -----------------------------------------------------------------


@pytest.fixture(scope="session")
def mirror_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    r = Registry(tmp_path_factory.mktemp("registry-mirror"))
    try:
        yield r
    finally:
        r.stop()


def test_mirrors_then_location(plain_registry: Registry, mirror_registry: Registry, images: Images) -> None:
    primary = push(images.by_name["alpine-oci"].src, plain_registry, "mirrored/app:1", fmt="v2s2")
    name = primary.split("/", 1)[1]
    conf = settings(
        registry=[{"prefix": plain_registry.host, "mirror": [{"location": mirror_registry.host}]}]
    )
    # The mirror lacks the image: it is asked first, then the registry itself serves it.
    m_mark, p_mark = mirror_registry.log_mark(), plain_registry.log_mark()
    inv = hullscan.inventory(f"registry:{primary}", registries=conf)
    assert ("GET", f"/v2/{name.replace(':', '/manifests/')}", 404) in mirror_registry.requests(m_mark)
    assert len(plain_registry.blob_gets(p_mark)) == 2
    # The mirror has it: the registry is not asked at all.
    push(images.by_name["alpine-oci"].src, mirror_registry, name, fmt="v2s2")
    m_mark, p_mark = mirror_registry.log_mark(), plain_registry.log_mark()
    again = hullscan.inventory(f"registry:{primary}", registries=conf, use_cache=False)
    assert again.packages == inv.packages
    assert plain_registry.requests(p_mark) == []
    assert ("GET", f"/v2/{name.replace(':', '/manifests/')}", 200) in mirror_registry.requests(m_mark)


def test_rewrite_flag_and_bare_reference(
    plain_registry: Registry, pushed: dict[tuple[str, str], str]
) -> None:
    ref = pushed[("alpine-oci", "oci")]
    repo_tag = ref.split("/", 1)[1]
    # A made-up registry name pulled from the local registry under a path prefix rewrite.
    code, out, err = cli(
        "inventory",
        f"registry.invalid:5000/team/{repo_tag}",
        "--registry-rewrite",
        f"registry.invalid:5000/team={plain_registry.host}",
        "--format",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["source"] == f"registry:registry.invalid:5000/team/{repo_tag}"
    assert len(doc["packages"]) == len(hullscan.inventory(f"registry:{ref}").packages)
    # Nothing listens there: a RegistryError after the configured retries, exit 2.
    conf = _options_file(Path(os.environ["HULLSCAN_CACHE_DIR"]).parent, retries=1, backoff=0.01)
    code, out, err = cli(
        "inventory", f"127.0.0.1:{free_port()}/team/{repo_tag}", "--registry-config", str(conf)
    )
    assert code == 2
    assert "RegistryError" in err
    assert "after 2 attempts" in err


def _options_file(where: Path, **options: object) -> Path:
    path = where / "options.toml"
    path.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()))
    return path


def test_layers_download_concurrently(proxy: FaultProxy, plain_registry: Registry, images: Images) -> None:
    ref = push(f"oci:{images.layout}:many", plain_registry, "many/app:1", fmt="oci")
    name, _, tag = ref.split("/", 1)[1].partition(":")
    layers = [d["digest"] for d in registry_manifest(plain_registry.host, name, tag)["layers"]]  # type: ignore[index]
    assert len(layers) == 4
    for digest in layers:
        proxy.add(Fault(f"/blobs/{digest}$", "delay", delay=0.6))
    t0 = time.monotonic()
    inv = hullscan.inventory(f"registry:{proxy.host}/{name}:{tag}", registries=settings())
    elapsed = time.monotonic() - t0
    assert [layer.digest for layer in inv.layers] == layers
    spans = [(s.started, s.at) for s in proxy.seen if any(s.path.endswith(d) for d in layers)]
    assert len(spans) == 4
    overlap = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    assert overlap == 4  # the default pool of 4 fetches all four at once
    assert elapsed < 4 * 0.6
    # With concurrency = 1 they come one after another.
    proxy.clear()
    for digest in layers:
        proxy.add(Fault(f"/blobs/{digest}$", "delay", delay=0.2))
    one = RegistryConfig.from_dict({"options": {**FAST, "concurrency": 1}})
    hullscan.inventory(
        f"registry:{proxy.host}/{name}:{tag}",
        registries=one,
        use_cache=False,
        cache_dir=Path(os.environ["HULLSCAN_CACHE_DIR"]) / "other",
    )
    spans = [(s.started, s.at) for s in proxy.seen if any(s.path.endswith(d) for d in layers)]
    assert max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans) == 1
