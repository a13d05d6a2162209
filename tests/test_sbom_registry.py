"""Issue 6, SBOMs as OCI artifacts: ``hullscan sbom REF --attach`` and ``hullscan scan REF
--sbom-from-registry``, against real registries started here on 127.0.0.1.

- Debian's ``docker-registry`` (distribution 2.8) has no referrers API: attaching keeps the
  ``sha256-<digest>`` tag index of the spec's fallback, read back independently here; the
  SBOM-based scan gives the full scan's findings and the registry's access log shows that no
  layer or config blob was fetched.
- The referrers-API path runs through :class:`ReferrersFront`, a front to the same real registry
  that answers ``GET /referrers`` from the registry's own storage and sends ``OCI-Subject`` (no
  registry with the API is installable here). The same front, with overrides, plays the hostile
  registry.
- Interop with the ORAS format: an artifact pushed by oras-py is found by hullscan, and oras-py
  pulls the artifact hullscan attached.
- Basic auth (TLS + htpasswd) and token auth (a token server issuing push scopes) for attach and
  fetch.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, require_tool
from hullscan.cli import main as cli_main
from hullscan.sbom import oci
from hullscan.sbom import write as write_sbom
from hullscan.sources.registry_config import RegistryConfig
from registry_servers import ReferrersFront, Registry, Tls, TokenServer, htpasswd, make_ca, push

ALICE = ("alice", "s3cret-Alice-sbom-9931")
BOB = ("bob", "t0ken-Bob-sbom-5527")
FAST = {"retries": 2, "backoff": 0.05}
CDX = oci.MEDIA_TYPES["cyclonedx-json"]
SPDX = oci.MEDIA_TYPES["spdx-json"]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(autouse=True)
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No docker config or registry settings from the machine leak in."""
    d = tmp_path / "docker-config"
    d.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HULLSCAN_REGISTRIES", raising=False)
    return d


@dataclass(frozen=True)
class Sources:
    alpine: str  # skopeo source of Alpine 3.20.3 (one platform)
    alpine_archive: Path
    multi: str  # skopeo source of a two-platform OCI layout


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> Sources:
    require_tool("skopeo")
    work = tmp_path_factory.mktemp("sbom-registry-images")
    archive = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"
    subprocess.run(["tar", "-xf", str(archive), "-C", str(work)], check=True)
    stereo = edge_fixtures / "stereoscope/pkg/image/oci/testdata/multiplatform_oci_dir"
    return Sources(f"oci:{work / 'oci-alpine'}:3.20.3", archive, f"oci:{stereo}:latest")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, sources: Sources) -> Iterator[Registry]:
    """A plain-HTTP docker-registry; repositories are pushed by the tests that use them."""
    require_tool("docker-registry")
    r = Registry(tmp_path_factory.mktemp("registry-sbom"))
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def front(registry: Registry) -> Iterator[ReferrersFront]:
    f = ReferrersFront(registry)
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def alpine_db(tmp_path: Path) -> None:
    from hullscan import db

    out = tmp_path / "secdb"
    out.mkdir()
    archive = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"
    data = subprocess.run(["zstd", "-dc", str(archive)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=data, check=True)
    db.import_paths([out / "vuln-list-alpine-3.20-main"]).close()


def settings(**rules: object) -> RegistryConfig:
    return RegistryConfig.from_dict({"options": FAST, **rules})


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


def get(host: str, path: str, accept: str = OCI_MANIFEST, auth: str | None = None) -> tuple[bytes, str]:
    """A document as the registry serves it, read here with urllib (an independent reader)."""
    headers = {"Accept": accept}
    if auth:
        headers["Authorization"] = auth
    req = urllib.request.Request(f"http://{host}{path}", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read(), resp.headers["Content-Type"]


def findings(result: hullscan.ScanResult) -> list[tuple[object, ...]]:
    return sorted(
        (f.id, f.package.name, f.package.version, f.package.purl, f.fixed_versions, f.status)
        for f in result.findings
    )


def image_blobs(host: str, name: str, manifest_digest: str) -> set[str]:
    """The config and layer digests of an image manifest."""
    doc = json.loads(get(host, f"/v2/{name}/manifests/{manifest_digest}")[0])
    return {doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])}


# -- must-show: attach, then scan from the attached SBOM --------------------------------------------


@pytest.mark.usefixtures("alpine_db")
def test_attach_then_scan_from_registry_fetches_no_layer(
    registry: Registry, sources: Sources, tmp_path: Path
) -> None:
    ref = push(sources.alpine, registry, "app:1", fmt="oci")
    out = tmp_path / "app.cdx.json"
    code, stdout, err = cli("sbom", ref, "--attach", "-o", str(out))
    assert code == 0, err
    assert stdout == ""
    (line,) = [x for x in err.splitlines() if "attached" in x]
    artifact = line.split(" as ")[1].split()[0]
    full = hullscan.scan(f"registry:{ref}", offline=True)
    assert any(f.package.name == "busybox" for f in full.findings)
    subject = full.inventory.manifest_digest
    assert subject is not None
    assert f"attached {CDX} to {subject} as {artifact} (tag {oci.fallback_tag(subject)})" in line

    # The fallback tag index lists the artifact; the artifact is an OCI 1.1 manifest referring
    # to the image, with the empty config and the SBOM written to --output as its one layer.
    index = json.loads(get(registry.host, f"/v2/app/manifests/{oci.fallback_tag(subject)}", OCI_INDEX)[0])
    assert [(m["digest"], m["artifactType"]) for m in index["manifests"]] == [(artifact, CDX)]
    body, ctype = get(registry.host, f"/v2/app/manifests/{artifact}")
    assert "sha256:" + hashlib.sha256(body).hexdigest() == artifact
    manifest = json.loads(body)
    assert ctype == OCI_MANIFEST
    assert manifest["artifactType"] == CDX
    assert manifest["config"] == {
        "mediaType": "application/vnd.oci.empty.v1+json",
        "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
        "size": 2,
    }
    assert manifest["subject"]["digest"] == subject
    assert "org.opencontainers.image.created" not in manifest["annotations"]
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == CDX
    assert layer["digest"] == "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest()
    assert get(registry.host, f"/v2/app/blobs/{layer['digest']}")[0] == out.read_bytes()

    # The scan from the attached SBOM: the same findings; only manifests, the referrers query,
    # the tag index and the SBOM blob were fetched.
    mark = registry.log_mark()
    code, stdout, err = cli("scan", ref, "--sbom-from-registry", "--offline", "--format", "json")
    assert code == 0, err
    assert f"matched the SBOM attached to {subject}" in err
    doc = json.loads(stdout)
    assert sorted(f["id"] for f in doc["findings"]) == sorted(f.id for f in full.findings)
    api = hullscan.scan(ref, offline=True, sbom_from_registry=True)
    assert findings(api) == findings(full)
    assert (api.inventory.source, api.inventory.source_type) == (f"registry:{ref}", "sbom")
    assert api.inventory.manifest_digest == subject
    requests = registry.requests(mark)
    assert requests, "the access log recorded nothing"
    assert registry.blob_gets(mark)
    assert set(registry.blob_gets(mark)) == {layer["digest"]}
    assert not set(registry.blob_gets(mark)) & image_blobs(registry.host, "app", subject)
    for method, path, _ in requests:
        assert method == "GET"
        assert path == "/v2/" or path.startswith(
            ("/v2/app/manifests/", "/v2/app/referrers/", f"/v2/app/blobs/{layer['digest']}")
        ), path
    assert ("GET", f"/v2/app/referrers/{subject}", 404) in requests


def test_tag_fallback_keeps_every_attachment(registry: Registry, sources: Sources) -> None:
    ref = push(sources.alpine, registry, "keep:1", fmt="v2s2")
    inv = hullscan.inventory(f"registry:{ref}")
    assert inv.manifest_digest is not None
    tag = oci.fallback_tag(inv.manifest_digest)
    a = oci.attach(ref, write_sbom(inv, "cyclonedx-json"), CDX, registries=settings())
    b = oci.attach(ref, write_sbom(inv, "spdx-json"), SPDX, registries=settings())
    assert (a.via, b.via, a.tag, b.tag) == ("tag", "tag", tag, tag)
    assert a.subject.digest == b.subject.digest == inv.manifest_digest
    # The same SBOM again (no timestamp: the same artifact) adds nothing.
    again = oci.attach(ref, write_sbom(inv, "cyclonedx-json"), CDX, registries=settings())
    assert again.digest == a.digest
    index = json.loads(get(registry.host, f"/v2/keep/manifests/{tag}", OCI_INDEX)[0])
    assert index["mediaType"] == OCI_INDEX
    assert [(m["digest"], m["artifactType"]) for m in index["manifests"]] == [
        (a.digest, CDX),
        (b.digest, SPDX),
    ]
    # CycloneDX JSON is preferred; asked for SPDX, SPDX.
    got = oci.fetch(ref, registries=settings())
    assert got is not None
    assert (got.digest, got.media_type, got.via) == (a.digest, CDX, "tag")
    spdx = oci.fetch(ref, media_types=(SPDX,), registries=settings())
    assert spdx is not None
    assert spdx.digest == b.digest
    assert json.loads(spdx.data)["spdxVersion"] == "SPDX-2.3"
    # A newer CycloneDX SBOM (a timestamp makes it another artifact) is preferred to the older.
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    c = oci.attach(
        ref, write_sbom(inv, "cyclonedx-json", timestamp=when), CDX, timestamp=when, registries=settings()
    )
    assert c.digest != a.digest
    manifest = json.loads(get(registry.host, f"/v2/keep/manifests/{c.digest}")[0])
    assert manifest["annotations"]["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
    index = json.loads(get(registry.host, f"/v2/keep/manifests/{tag}", OCI_INDEX)[0])
    assert [m["digest"] for m in index["manifests"]] == [a.digest, b.digest, c.digest]
    newest = oci.fetch(ref, registries=settings())
    assert newest is not None
    assert newest.digest == c.digest


def test_tag_index_update_lost_to_another_client_is_redone(
    registry: Registry, front: ReferrersFront, sources: Sources
) -> None:
    """Another client's update of the fallback index lands right after ours and drops our entry
    (it read the index before we wrote it): attach reads the index back and adds its entry again."""
    push(sources.alpine, registry, "race:1", fmt="oci")
    subject = hullscan.inventory(f"registry:{registry.host}/race:1").manifest_digest
    assert subject is not None
    tag = oci.fallback_tag(subject)
    # The other client's entry (the registry checks that an index lists manifests it holds).
    size = len(get(registry.host, f"/v2/race/manifests/{subject}")[0])
    other = {"mediaType": OCI_MANIFEST, "digest": subject, "size": size, "artifactType": SPDX}
    theirs = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [other]})
    puts: list[str] = []

    def competing_writer(method: str, path: str, status: int) -> None:
        if method == "PUT" and path.endswith(f"/manifests/{tag}"):
            puts.append(path)
            if len(puts) == 1:
                req = urllib.request.Request(
                    f"http://{registry.host}{path}",
                    data=theirs,
                    method="PUT",
                    headers={"Content-Type": OCI_INDEX},
                )
                with urllib.request.urlopen(req, timeout=10) as resp:
                    assert resp.status == 201

    front.api = False
    front.after = competing_writer
    attached = oci.attach(f"{front.host}/race:1", b'{"bomFormat": "CycloneDX"}', CDX, registries=settings())
    assert attached.via == "tag"
    assert len(puts) == 2
    index = json.loads(get(registry.host, f"/v2/race/manifests/{tag}", OCI_INDEX)[0])
    assert [m["digest"] for m in index["manifests"]] == [other["digest"], attached.digest]


def test_multi_platform_subject_is_the_platform_manifest(registry: Registry, sources: Sources) -> None:
    ref = push(sources.multi, registry, "multi:1", fmt="oci", all_platforms=True)
    top = json.loads(get(registry.host, "/v2/multi/manifests/1", OCI_INDEX)[0])
    by_arch = {m["platform"]["architecture"]: m["digest"] for m in top["manifests"]}
    index_digest = (
        "sha256:" + hashlib.sha256(get(registry.host, "/v2/multi/manifests/1", OCI_INDEX)[0]).hexdigest()
    )
    code, _, err = cli("sbom", ref, "--platform", "linux/arm64", "--attach", "-o", "/dev/null")
    assert code == 0, err
    assert f"to {by_arch['arm64']} as" in err
    arm = oci.fetch(ref, platform="linux/arm64", registries=settings())
    assert arm is not None
    assert arm.subject.digest == by_arch["arm64"]
    assert arm.subject.platform is not None
    assert arm.subject.platform.startswith("linux/arm64")
    # Nothing refers to the amd64 manifest or to the index yet.
    assert oci.fetch(ref, platform="linux/amd64", registries=settings()) is None
    # Attached to the index, it serves every platform without one of its own.
    code, _, err = cli("sbom", ref, "--platform", "linux/amd64", "--attach-to-index", "-o", "/dev/null")
    assert code == 0, err
    assert f"to {index_digest} as" in err
    amd = oci.fetch(ref, platform="linux/amd64", registries=settings())
    assert amd is not None
    assert amd.subject.digest == index_digest
    again = oci.fetch(ref, platform="linux/arm64", registries=settings())
    assert again is not None
    assert again.digest == arm.digest


@pytest.mark.usefixtures("alpine_db")
def test_nothing_attached_is_a_typed_error_or_a_pull(
    registry: Registry, sources: Sources, tmp_path: Path
) -> None:
    ref = push(sources.alpine, registry, "bare:1", fmt="oci")
    code, out, err = cli("scan", ref, "--sbom-from-registry", "--offline")
    assert code == 2
    assert out == ""
    assert err.startswith("hullscan: error: SbomNotAttachedError: no SBOM is attached to ")
    assert len(err.splitlines()) == 1
    with pytest.raises(hullscan.SbomNotAttachedError):
        hullscan.scan(ref, offline=True, sbom_from_registry=True)
    mark = registry.log_mark()
    code, out, err = cli("scan", ref, "--sbom-from-registry=auto", "--offline", "--format", "json")
    assert code == 0, err
    pulled = json.loads(out)
    full = hullscan.scan(str(sources.alpine_archive), offline=True)
    assert sorted(f["id"] for f in pulled["findings"]) == sorted(f.id for f in full.findings)
    assert registry.blob_gets(mark)  # auto fell back to pulling the image
    # --attach needs an image in a registry: refused before any work, nothing written.
    code, out, err = cli(
        "sbom", f"oci-archive:{sources.alpine_archive}", "--attach", "-o", str(tmp_path / "x")
    )
    assert code == 2
    assert "SourceError" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()
    for other in (f"docker:{ref}", str(sources.alpine_archive), f"sbom:{sources.alpine_archive}"):
        with pytest.raises(hullscan.SourceError, match="attached to and read from images in a registry"):
            oci.reference_of(other)
    code, _, err = cli("scan", f"oci-archive:{sources.alpine_archive}", "--sbom-from-registry", "--offline")
    assert code == 2
    assert "SourceError" in err


# -- the referrers API ------------------------------------------------------------------------------


@pytest.mark.usefixtures("alpine_db")
def test_referrers_api_path(registry: Registry, front: ReferrersFront, sources: Sources) -> None:
    push(sources.alpine, registry, "refs:1", fmt="oci")
    ref = f"{front.host}/refs:1"
    inv = hullscan.inventory(f"registry:{ref}")
    assert inv.manifest_digest is not None
    attached = oci.attach(ref, write_sbom(inv, "spdx-json"), SPDX, registries=settings())
    # The registry said OCI-Subject: no tag index is kept.
    assert (attached.via, attached.tag) == ("referrers", None)
    with pytest.raises(urllib.error.HTTPError) as e:
        get(registry.host, f"/v2/refs/manifests/{oci.fallback_tag(inv.manifest_digest)}", OCI_INDEX)
    assert e.value.code == 404
    listed = front.referrers("refs", inv.manifest_digest)["manifests"]
    assert [(m["digest"], m["artifactType"]) for m in listed] == [(attached.digest, SPDX)]
    front.seen.clear()
    got = oci.fetch(ref, registries=settings())
    assert got is not None
    assert (got.via, got.digest, got.media_type) == ("referrers", attached.digest, SPDX)
    assert ("GET", f"/v2/refs/referrers/{inv.manifest_digest}", 200) in front.seen
    assert not any("sha256-" in path for _, path, _ in front.seen)
    # One type asked for: the registry is asked to filter by it.
    assert oci.fetch(ref, media_types=(CDX,), registries=settings()) is None
    query = "artifactType=application%2Fvnd.cyclonedx%2Bjson"
    assert ("GET", f"/v2/refs/referrers/{inv.manifest_digest}?{query}", 200) in front.seen
    result = hullscan.scan(ref, offline=True, sbom_from_registry=True)
    assert findings(result) == findings(hullscan.scan(str(sources.alpine_archive), offline=True))


def test_oras_interop(registry: Registry, front: ReferrersFront, sources: Sources, tmp_path: Path) -> None:
    """oras-py pushes an SBOM artifact with a subject (the ORAS 1.0 form: the SBOM type as config
    media type, no artifactType): hullscan finds it through the referrers API. oras-py pulls the
    artifact hullscan attached: the SBOM, under its title."""
    import oras.client
    import oras.oci

    push(sources.alpine, registry, "interop:1", fmt="oci")
    inv = hullscan.inventory(f"registry:{registry.host}/interop:1")
    assert inv.manifest_digest is not None
    body = get(registry.host, f"/v2/interop/manifests/{inv.manifest_digest}")[0]
    sbom = tmp_path / "syft.cdx.json"
    sbom.write_text(write_sbom(inv, "cyclonedx-json"))
    config = tmp_path / "config.json"
    config.write_text("{}")
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    resp = client.push(
        target=f"{registry.host}/interop:sbom",
        files=[f"{sbom}:{CDX}"],
        manifest_config=f"{config}:{CDX}",
        subject=oras.oci.Subject(OCI_MANIFEST, inv.manifest_digest, len(body)),
        disable_path_validation=True,
        quiet=True,
    )
    assert resp.status_code == 201
    found = oci.fetch(f"{front.host}/interop:1", registries=settings())
    assert found is not None
    assert found.via == "referrers"
    assert found.data == sbom.read_bytes()
    assert found.digest == resp.headers["Docker-Content-Digest"]

    attached = oci.attach(f"{registry.host}/interop:1", sbom.read_bytes(), CDX, registries=settings())
    files = oras.client.OrasClient(hostname=registry.host, insecure=True).pull(
        target=f"{registry.host}/interop@{attached.digest}", outdir=str(tmp_path / "pulled")
    )
    assert [Path(f).name for f in files] == ["sbom.cdx.json"]
    assert Path(files[0]).read_bytes() == sbom.read_bytes()


# -- auth -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_ca(tmp_path_factory.mktemp("sbom-tls"))


@pytest.fixture(scope="module")
def basic_registry(
    tmp_path_factory: pytest.TempPathFactory, tls: Tls, sources: Sources
) -> Iterator[Registry]:
    work = tmp_path_factory.mktemp("registry-sbom-basic")
    r = Registry(work, tls=tls, htpasswd_file=htpasswd(work / "htpasswd", dict([ALICE])))
    try:
        push(sources.alpine, r, "app:1", fmt="oci", creds=":".join(ALICE))
        yield r
    finally:
        r.stop()


@pytest.mark.usefixtures("alpine_db")
def test_basic_auth_attach_and_fetch(basic_registry: Registry, tls: Tls, docker_config: Path) -> None:
    ref = f"{basic_registry.host}/app:1"
    ca = ["--registry-ca", f"{basic_registry.host}={tls.ca_cert}"]
    code, _, err = cli("sbom", ref, "--attach", "-o", "/dev/null", *ca)
    assert code == 2
    assert "AuthenticationError" in err
    assert "requires credentials" in err
    (docker_config / "config.json").write_text(
        json.dumps(
            {"auths": {basic_registry.host: {"auth": base64.b64encode(":".join(ALICE).encode()).decode()}}}
        )
    )
    code, _, err = cli("sbom", ref, "--attach", "-o", "/dev/null", *ca)
    assert code == 0, err
    mark = basic_registry.log_mark()
    code, out, err = cli("scan", ref, "--sbom-from-registry", "--offline", "--format", "json", *ca)
    assert code == 0, err
    assert "matched the SBOM attached" in err
    assert json.loads(out)["findings"]
    assert ALICE[1] not in err + out
    assert all(p.startswith(("/v2/", "/v2/app/")) for _, p, _ in basic_registry.requests(mark))
    assert len(basic_registry.blob_gets(mark)) == 1


def test_token_auth_asks_for_push_scope(
    tmp_path_factory: pytest.TempPathFactory, sources: Sources, docker_config: Path
) -> None:
    work = tmp_path_factory.mktemp("registry-sbom-token")
    ts = TokenServer(work / "token", dict([BOB]))
    try:
        r = Registry(work / "registry", token=ts.registry_settings())
        try:
            push(sources.alpine, r, "team/app:1", fmt="oci", creds=":".join(BOB))
            (docker_config / "config.json").write_text(
                json.dumps({"auths": {r.host: {"username": BOB[0], "password": BOB[1]}}})
            )
            ref = f"{r.host}/team/app:1"
            ts.issued.clear()
            attached = oci.attach(
                ref, b'{"bomFormat": "CycloneDX", "specVersion": "1.6"}', CDX, registries=settings()
            )
            assert ("bob", "repository:team/app:pull,push") in ts.issued
            got = oci.fetch(ref, registries=settings())
            assert got is not None
            assert got.digest == attached.digest
        finally:
            r.stop()
    finally:
        ts.stop()


# -- a hostile registry -----------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(doc: object) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "case", ["huge-blob", "long-blob", "wrong-blob", "not-json", "other-subject", "bad-index"]
)
def test_hostile_registry_typed_errors(
    registry: Registry, front: ReferrersFront, sources: Sources, case: str
) -> None:
    push(sources.alpine, registry, "hostile:1", fmt="oci")
    ref = f"{front.host}/hostile:1"
    subject = hullscan.inventory(f"registry:{registry.host}/hostile:1").manifest_digest
    assert subject is not None
    sbom = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}'
    layer = {"mediaType": CDX, "digest": _sha(sbom), "size": len(sbom)}
    expected: type[Exception] = hullscan.ImageFormatError
    if case == "huge-blob":
        layer["size"] = 10 << 30
        expected = hullscan.LimitExceededError
    elif case == "long-blob":
        front.overrides[f"/v2/hostile/blobs/{_sha(sbom)}"] = (200, {}, sbom + b" " * (2 << 20))
        expected = hullscan.LimitExceededError
    elif case == "wrong-blob":
        front.overrides[f"/v2/hostile/blobs/{_sha(sbom)}"] = (200, {}, sbom.replace(b"1.6", b"1.5"))
        expected = hullscan.DigestMismatchError
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": CDX,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": _sha(b"{}"), "size": 2},
        "layers": [layer],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
    }
    if case == "other-subject":
        manifest["subject"] = {"mediaType": OCI_MANIFEST, "digest": _sha(b"another image"), "size": 1}
    body = b"<html>not a manifest</html>" if case == "not-json" else _json(manifest)
    front.overrides[f"/v2/hostile/manifests/{_sha(body)}"] = (200, {"Content-Type": OCI_MANIFEST}, body)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": _sha(body), "size": len(body), "artifactType": CDX}
        ],
    }
    referrers = b"[1, 2" if case == "bad-index" else _json(index)
    front.overrides[f"/v2/hostile/referrers/{subject}"] = (200, {"Content-Type": OCI_INDEX}, referrers)
    with pytest.raises(expected):
        oci.fetch(ref, registries=settings())
    code, out, err = cli("scan", ref, "--sbom-from-registry", "--offline")
    assert code == 2
    assert out == ""
    assert err.startswith(f"hullscan: error: {expected.__name__}: ")
    assert len(err.splitlines()) == 1
    if case == "huge-blob":
        assert not any("/blobs/" in path for method, path, _ in front.seen if method == "GET")


def test_hostile_tag_index_is_not_overwritten(registry: Registry, sources: Sources) -> None:
    """Something other than an image index under the fallback tag: attach refuses to replace it
    (it would lose what it lists) and fetch reports it; both typed errors."""
    ref = push(sources.alpine, registry, "squat:1", fmt="oci")
    subject = hullscan.inventory(f"registry:{ref}").manifest_digest
    assert subject is not None
    push(sources.alpine, registry, f"squat:{oci.fallback_tag(subject)}", fmt="oci")
    with pytest.raises(hullscan.ImageFormatError, match="not an image index; not overwriting"):
        oci.attach(ref, b"{}", CDX, registries=settings())
    with pytest.raises(hullscan.ImageFormatError, match="not an image index"):
        oci.fetch(ref, registries=settings())
    accept = ",".join(hullscan.sources.registry.ACCEPT)
    body, ctype = get(registry.host, f"/v2/squat/manifests/{oci.fallback_tag(subject)}", accept)
    assert ctype == OCI_MANIFEST
    assert "layers" in json.loads(body)


def test_sbom_read_from_bytes_matches_file(tmp_path: Path, sources: Sources) -> None:
    from hullscan.sbom.reader import SbomFormatError, read_sbom, read_sbom_bytes

    inv = hullscan.inventory(f"oci-archive:{sources.alpine_archive}")
    text = write_sbom(inv, "spdx-json")
    path = tmp_path / "a.spdx.json"
    path.write_text(text)
    from_bytes = read_sbom_bytes(text.encode(), "registry:x/y:1")
    assert from_bytes.source == "registry:x/y:1"
    assert dataclasses.replace(from_bytes, source="") == dataclasses.replace(read_sbom(path), source="")
    with pytest.raises(SbomFormatError, match=r"^registry:x/y:1: not JSON"):
        read_sbom_bytes(b"\x00garbage", "registry:x/y:1")
