"""Issue 8 (Inspector parity), must-show 1: ECR discovery through a moto server started here.

Real images are pushed with skopeo to a distribution registry on 127.0.0.1 (htpasswd: the user and
password moto's GetAuthorizationToken hands out), and registered in moto's ECR with ``put_image``
using the manifests the registry serves (so ECR's imageDigest is the real manifest digest). The
ECR host name is pointed at the registry by a registry settings rewrite. ``scan-registry`` lists
them (DescribeRepositories, DescribeImages), scans each digest once (the registry's access log
says so), and a second run pulls nothing.

moto 5.2 ignores maxResults / nextToken on DescribeImages and DescribeRepositories (its docstring
says so), so the pagination test puts a small proxy between boto3 and moto that pages moto's full
answers as ECR does (maxResults items, an opaque nextToken) and records each page served.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

import hullscan
from conftest import DATA, REPO, require_tool
from hullscan import db as advisory_db
from hullscan.cli import main as cli_main
from hullscan.store import InventoryStore
from hullscan.store.discovery import EcrTarget, Filters, ecr_images, parse_since, select
from imagebuild import run
from registry_servers import Moto, Registry, htpasswd, push

ACCOUNT = "123456789012"
REGION = "us-east-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
SECDB = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


@dataclass(frozen=True)
class Pushed:
    repository: str
    tag: str
    digest: str
    archive: str  # the same image as hullscan reads it from a file


@dataclass(frozen=True)
class Ecr:
    moto: Moto
    registry: Registry
    pushed: tuple[Pushed, ...]
    settings: Path  # registries.toml: HOST -> the registry
    advisories: Path  # the five Alpine 3.20 files
    old_advisories: Path  # two of them


def ecr_client(url: str, region: str = REGION) -> Any:
    import boto3

    return boto3.client(
        "ecr",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def fetch_manifest(registry: Registry, auth: str, repo: str, tag: str) -> tuple[bytes, str]:
    req = urllib.request.Request(
        f"http://{registry.host}/v2/{repo}/manifests/{tag}",
        headers={"Accept": ACCEPT, "Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read(), resp.headers["Content-Type"]


_ECR: list[Ecr] = []


@pytest.fixture(scope="session")
def ecr(tmp_path_factory: pytest.TempPathFactory, moto: Moto) -> Iterator[Ecr]:
    """The images, pushed once per session: another module that uses this fixture too
    (tests/test_publish.py) gets the same ones (moto refuses a repository twice)."""
    if _ECR:
        yield _ECR[0]
        return
    require_tool("skopeo")
    work = tmp_path_factory.mktemp("ecr")
    client = ecr_client(moto.url)
    token = client.get_authorization_token(registryIds=[ACCOUNT])["authorizationData"][0][
        "authorizationToken"
    ]
    user, _, password = base64.b64decode(token).decode().partition(":")
    run("tar", "-xf", DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar", "-C", work)
    alpine310 = work / "alpine-310.docker.tar"
    with open(alpine310, "wb") as out:
        subprocess.run(
            ["gzip", "-dc", str(DATA / "images/docker-archive/trivy-alpine-310.docker-archive.tar.gz")],
            stdout=out,
            check=True,
        )
    data = subprocess.run(["zstd", "-dc", str(SECDB)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=data, check=True)
    full = work / "vuln-list-alpine-3.20-main"
    old = work / "old-advisories"
    old.mkdir()
    for name in ("busybox", "musl"):
        (old / f"{name}.json").write_bytes((full / f"{name}.json").read_bytes())
    registry = Registry(work / "registry", htpasswd_file=htpasswd(work / "htpasswd", {user: password}))
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    oci320 = f"oci:{work / 'oci-alpine'}:3.20.3"
    images = [
        ("team-a/app", "1.0", oci320, f"oci-dir:{work / 'oci-alpine'}:3.20.3", "oci"),
        ("team-a/app", "0.9", f"docker-archive:{alpine310}", f"docker-archive:{alpine310}", None),
        ("team-a/base", "3.20", oci320, f"oci-dir:{work / 'oci-alpine'}:3.20.3", "oci"),
        ("other/tool", "latest", f"docker-archive:{alpine310}", f"docker-archive:{alpine310}", None),
    ]
    try:
        pushed = []
        for repo in sorted({i[0] for i in images}):
            client.create_repository(repositoryName=repo)
        for repo, tag, src, archive, fmt in images:
            push(src, registry, f"{repo}:{tag}", fmt=fmt, creds=f"{user}:{password}")
            body, ctype = fetch_manifest(registry, auth, repo, tag)
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            client.put_image(
                repositoryName=repo,
                imageManifest=body.decode(),
                imageManifestMediaType=ctype,
                imageTag=tag,
                imageDigest=digest,
            )
            pushed.append(Pushed(repo, tag, digest, archive))
        settings = work / "registries.toml"
        settings.write_text(f'[[registry]]\nprefix = "{HOST}"\nlocation = "{registry.host}"\n')
        _ECR.append(Ecr(moto, registry, tuple(pushed), settings, full, old))
        yield _ECR[0]
    finally:
        _ECR.clear()
        registry.stop()


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto: Moto) -> None:
    """moto's endpoint and test keys; no AWS, docker or registry configuration of the machine."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HULLSCAN_REGISTRIES", raising=False)
    monkeypatch.delenv("HULLSCAN_STORE", raising=False)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_ECR", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
    hullscan.auth.ECR_TOKENS.clear()


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


def registry_paths(ecr: Ecr, mark: int) -> list[str]:
    return [p for _, p, _ in ecr.registry.requests(mark)]


def scan_json(ecr: Ecr, store: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli(
        "scan-registry",
        f"ecr://{ACCOUNT}/{REGION}/team-a/",
        "--store",
        str(store),
        "--registry-config",
        str(ecr.settings),
        "--format",
        "json",
        *extra,
    )
    assert code == 0, err
    return dict(json.loads(out))


def test_scan_registry_scans_each_digest_once(ecr: Ecr, tmp_path: Path) -> None:
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    store = tmp_path / "inventories.db"
    team = [p for p in ecr.pushed if p.repository.startswith("team-a/")]
    digests = {p.digest for p in team}
    assert len(team) == 3
    assert len(digests) == 2  # team-a/app:1.0 and team-a/base:3.20 are the same image

    mark = ecr.registry.log_mark()
    doc = scan_json(ecr, store)
    found = {(i["repository"], i["digest"]) for i in doc["images"]}
    assert found == {(f"{HOST}/{p.repository}", p.digest) for p in team}
    assert {i["status"] for i in doc["images"]} == {"scanned"}
    # One manifest GET per digest, by digest: each image was pulled once.
    manifest_gets = [p for p in registry_paths(ecr, mark) if "/manifests/" in p]
    assert sorted(p.rsplit("/", 1)[1] for p in manifest_gets) == sorted(digests)
    # The stored findings are those of hullscan.scan of the same image from its file.
    with InventoryStore(store) as st:
        assert st.count() == 2
        for p in team:
            want = hullscan.scan(p.archive, offline=True)
            got = st.findings(p.digest)
            assert {(f.id, f.purl) for f in got} == {(f.id, f.package.purl) for f in want.findings}
            assert st.inventory(p.digest).packages == want.inventory.packages
        by_digest = {i["digest"]: i for i in doc["images"]}
        assert sum(by_digest[team[0].digest]["counts"].values()) == len(st.findings(team[0].digest)) > 0

    # Again: every digest is current, nothing is pulled (not even a manifest).
    mark = ecr.registry.log_mark()
    doc = scan_json(ecr, store)
    assert {i["status"] for i in doc["images"]} == {"current"}
    assert registry_paths(ecr, mark) == []

    # A database update: the stored inventories are re-matched, still without a pull.
    advisory_db.import_paths([ecr.advisories], name="alpine-3.20").close()
    mark = ecr.registry.log_mark()
    doc = scan_json(ecr, store)
    assert registry_paths(ecr, mark) == []
    assert {i["status"] for i in doc["images"]} == {"rematched"}
    new = {(f["package"], f["id"]) for i in doc["images"] for f in i["delta"]["new"]}
    assert ("libssl3", "CVE-2024-9143") in new

    # --force pulls again; --max-images 1 takes the most recently pushed.
    doc = scan_json(ecr, store, "--force", "--max-images", "1")
    assert [i["status"] for i in doc["images"]] == ["scanned"]


def test_filters(ecr: Ecr, tmp_path: Path) -> None:
    target = EcrTarget(ACCOUNT, REGION, "team-a/")
    every = list(ecr_images(target))
    assert {(i.repository, i.digest) for i in every} == {
        (p.repository, p.digest) for p in ecr.pushed if p.repository.startswith("team-a/")
    }
    assert all(i.pushed_at is not None for i in every)
    assert {t for i in every for t in i.tags} == {"1.0", "0.9", "3.20"}
    assert [i.tags for i in select(every, Filters(tags=("1.*",)))] == [("1.0",)]
    assert {i.tags for i in select(every, Filters(tags=("0.9", "3.*")))} == {("0.9",), ("3.20",)}
    assert select(every, Filters(pushed_since=parse_since("2099-01-01"))) == []
    assert len(select(every, Filters(pushed_since=parse_since("1h")))) == 3
    # moto records no pulls: an image never pulled counts its push time (as Inspector does).
    assert len(select(every, Filters(pulled_since=parse_since("1h")))) == 3
    assert select(every, Filters(pulled_since=parse_since("2099-01-01T00:00:00+00:00"))) == []
    # An image pushed long ago but pulled recently is kept by --pulled-since, not by --pushed-since.
    old = replace(every[0], pushed_at=parse_since("400d"), last_pulled_at=parse_since("1d"))
    assert select([old], Filters(pulled_since=parse_since("30d"))) == [old]
    assert select([old], Filters(pushed_since=parse_since("30d"))) == []
    assert len(select(every, Filters(max_images=2))) == 2
    # The prefix is a prefix of repository names; the whole account has other/tool too.
    assert {i.repository for i in ecr_images(EcrTarget(ACCOUNT, REGION))} >= {"other/tool", "team-a/app"}
    # On the command line: only the digest tagged 0.9 is scanned.
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    doc = scan_json(ecr, tmp_path / "s.db", "--tag", "0.9", "--pushed-since", "1d")
    assert [(i["repository"], i["tags"], i["status"]) for i in doc["images"]] == [
        (f"{HOST}/team-a/app", ["0.9"], "scanned")
    ]
    # The table: one row per image, then the tally.
    code, out, err = run_cli(
        "scan-registry",
        f"ecr://{ACCOUNT}/{REGION}/team-a/",
        "--store",
        str(tmp_path / "s.db"),
        "--registry-config",
        str(ecr.settings),
        "--tag",
        "0.9",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAGS", "DIGEST", "STATUS", "FINDINGS", "NEW"]
    assert lines[1].split()[:4] == ["team-a/app", "0.9", doc["images"][0]["digest"][7:19], "current"]
    assert lines[-1] == "1 image(s): 0 scanned, 0 rematched, 1 current, 0 failed"


def test_bad_targets_and_credentials(ecr: Ecr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    for target in (
        "ecr://12345/us-east-1",
        "ecr://123456789012",
        "registry://127.0.0.1/x",
        "ecr://1234567890ab/us-east-1",
    ):
        code, out, err = run_cli("scan-registry", target, "--store", str(tmp_path / "s.db"))
        assert code == 2
        assert out == ""
        assert err.startswith("hullscan: error: StoreError:")
        assert err.count("\n") == 1
    for bad in (["--pushed-since", "yesterday"], ["--max-images", "0"]):
        code, _, err = run_cli(
            "scan-registry", f"ecr://{ACCOUNT}/{REGION}", "--store", str(tmp_path / "s.db"), *bad
        )
        assert code == 2
        assert err.count("\n") == 1
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run_cli("scan-registry", f"ecr://{ACCOUNT}/{REGION}", "--store", str(tmp_path / "s.db"))
    assert code == 2
    assert "AuthenticationError" in err
    assert "no AWS credentials" in err


# -- pagination --------------------------------------------------------------------------------------


class PagingProxy:
    """Forwards boto3's ECR calls to moto and pages DescribeImages / DescribeRepositories answers
    (maxResults items, nextToken = the next offset), recording (operation, maxResults, nextToken)."""

    LISTS: ClassVar[dict[str, str]] = {
        "DescribeImages": "imageDetails",
        "DescribeRepositories": "repositories",
    }

    def __init__(self, upstream: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.pages: list[tuple[str, int | None, str | None]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                op = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
                if resp.status == 200 and op in PagingProxy.LISTS:
                    req = json.loads(body or b"{}")
                    size, token = req.get("maxResults"), req.get("nextToken")
                    proxy.pages.append((op, size, token))
                    doc = json.loads(data)
                    items = doc[PagingProxy.LISTS[op]]
                    start = int(token or 0)
                    end = start + (size or len(items))
                    doc[PagingProxy.LISTS[op]] = items[start:end]
                    if end < len(items):
                        doc["nextToken"] = str(end)
                    data = json.dumps(doc).encode()
                self.send_response(resp.status)
                self.send_header(
                    "Content-Type", resp.headers.get("Content-Type", "application/x-amz-json-1.1")
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_pagination(ecr: Ecr, moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    """More images and repositories than a page: every one is found, through several pages. The
    images of this region are registered for discovery only (distinct schema-2 manifests whose
    config digests differ); nothing is pulled."""
    region = "eu-west-1"
    client = ecr_client(moto.url, region)
    repos = [f"bulk/r{i}" for i in range(5)]
    want = set()
    for r in repos:
        client.create_repository(repositoryName=r)
    for n in range(23):
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": 100 + n,
                    "digest": "sha256:" + hashlib.sha256(f"config {n}".encode()).hexdigest(),
                },
                "layers": [],
            }
        )
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        client.put_image(
            repositoryName=repos[0], imageManifest=manifest, imageTag=f"v{n}", imageDigest=digest
        )
        want.add((repos[0], digest))
    proxy = PagingProxy(moto.url)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        found = list(ecr_images(EcrTarget(ACCOUNT, region, "bulk/"), page_size=4))
    finally:
        proxy.stop()
    assert {(i.repository, i.digest) for i in found} == want
    assert len(found) == 23
    assert {i.tags for i in found} == {(f"v{n}",) for n in range(23)}
    image_pages = [p for p in proxy.pages if p[0] == "DescribeImages"]
    repo_pages = [p for p in proxy.pages if p[0] == "DescribeRepositories"]
    # 23 images of r0 in pages of 4 (6 pages) and one empty page for each other repository.
    assert [t for _, _, t in image_pages[:6]] == [None, "4", "8", "12", "16", "20"]
    assert len(image_pages) == 6 + 4
    assert all(size == 4 for _, size, _ in proxy.pages)
    assert [t for _, _, t in repo_pages] == [None, "4"]


# -- monitor -----------------------------------------------------------------------------------------


def test_monitor_once(ecr: Ecr, tmp_path: Path) -> None:
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    store = tmp_path / "s.db"
    code, out, err = run_cli(
        "monitor",
        f"ecr://{ACCOUNT}/{REGION}/team-a/",
        "--once",
        "--store",
        str(store),
        "--registry-config",
        str(ecr.settings),
        "--format",
        "json",
    )
    assert code == 0, err
    (line,) = out.splitlines()
    cycle = json.loads(line)
    assert cycle["cycle"] == 1
    assert {i["status"] for i in cycle["images"]} == {"scanned"}
    # An image stored by another route is re-matched by the monitor's rescan.
    with InventoryStore(store) as st:
        st.put(hullscan.inventory(ecr.pushed[0].archive), digest="sha256:" + "5" * 64, repository="elsewhere")
    advisory_db.import_paths([ecr.advisories], name="alpine-3.20").close()
    mark = ecr.registry.log_mark()
    code, out, err = run_cli("monitor", "--once", "--store", str(store), "--format", "json")
    assert code == 0, err
    cycle = json.loads(out)
    assert registry_paths(ecr, mark) == []
    assert {d["digest"] for d in cycle["rescanned"]} == {
        p.digest for p in ecr.pushed if p.repository.startswith("team-a/")
    } | {"sha256:" + "5" * 64}
    assert all(d["new"] for d in cycle["rescanned"] if d["repository"] == "elsewhere")


def test_monitor_stops_cleanly_on_sigterm(ecr: Ecr, tmp_path: Path, isolated_cache: Path) -> None:
    advisory_db.import_paths([ecr.old_advisories], name="alpine-3.20").close()
    store = tmp_path / "s.db"
    with InventoryStore(store) as st:
        st.put(hullscan.inventory(ecr.pushed[0].archive), repository="local")
    env = {**os.environ, "PYTHONPATH": str(REPO / "python"), "HULLSCAN_CACHE_DIR": str(isolated_cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hullscan.cli", "monitor", "--every", "1h", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        assert lines[0].startswith("cycle 1")
        while not lines[-1].startswith("rescanned") and lines[-1]:
            lines.append(proc.stdout.readline())
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "SIGTERM, stopping" in err
    assert "Traceback" not in err
    assert lines[-1].startswith("rescanned 1 image(s)")


def test_fleet_shard_from_ecr_discovery_then_index(ecr: Ecr, tmp_path: Path) -> None:
    """Issue 9: ``fleet shard ecr://...`` splits the discovered digests into disjoint shards (as
    AWS Batch array jobs would), and ``fleet index`` of each shard stores each digest once."""
    target = f"ecr://{ACCOUNT}/{REGION}/team-a/"
    team = {f"{HOST}/{p.repository}@{p.digest}" for p in ecr.pushed if p.repository.startswith("team-a/")}
    shards = []
    for i in range(2):
        code, out, err = run_cli("fleet", "shard", target, "--shard", str(i), "--of", "2")
        assert code == 0, err
        shards.append(out.split())
    assert sorted(r for s in shards for r in s) == sorted(team)
    # Sharded by digest: team-a/app:1.0 and team-a/base:3.20 (one image) land in the same shard.
    digests = {r.split("@", 1)[1] for r in team}
    assert len(digests) == 2
    assert not {r.split("@", 1)[1] for r in shards[0]} & {r.split("@", 1)[1] for r in shards[1]}
    store = tmp_path / "fleet.db"
    for s in shards:
        if not s:
            continue
        code, out, err = run_cli(
            "fleet",
            "index",
            *s,
            "--store",
            str(store),
            "--registry-config",
            str(ecr.settings),
            "--format",
            "json",
        )
        assert code == 0, err
        counts = json.loads(out)["counts"]
        # Two refs of one digest run concurrently may both index it; the store keeps one row.
        assert counts["indexed"] >= len({r.split("@", 1)[1] for r in s})
        assert counts["indexed"] + counts["stored"] == len(s)
    with InventoryStore(store) as st:
        assert sorted(i.digest for i in st.images()) == sorted(digests)
