"""Image configuration checks on images built by the tests with umoci: root user, an AWS key in
ENV, port 22 exposed, ADD from a URL, no HEALTHCHECK; each reported once, secrets redacted in every
output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hullscan
from conftest import DATA
from hullscan.checks import check_config, redact
from hullscan.checks.secrets import find
from hullscan.report import FORMATS, render
from hullscan.sbom import write as write_sbom
from hullscan.scan import ScanResult
from imagebuild import extract_rootfs, oci_archive, oci_from_rootfs, run
from test_report import SARIF_SCHEMA, assert_valid, scan_schema

# AWS's documented example credentials: the shapes are real, the values are published examples.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITLAB = "glpat-" + "Zq8Xb3TmK2pLw9RvN4cY"
SECRETS = (ACCESS_KEY, SECRET_KEY, GITLAB, "K7MDENG")


@pytest.fixture(scope="module")
def risky_image(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Alpine 3.20.3 configured the way the checks look for."""
    work = tmp_path_factory.mktemp("risky")
    rootfs = extract_rootfs(
        data_dir / "images" / "alpine-minirootfs" / "alpine-minirootfs-3.20.3-x86_64.tar.gz", work / "rootfs"
    )
    layout = work / "layout"
    ref = oci_from_rootfs(rootfs, layout, "risky")
    run(
        "umoci", "config", "--image", ref,
        "--config.env", f"AWS_ACCESS_KEY_ID={ACCESS_KEY}",
        "--config.env", f"AWS_SECRET_ACCESS_KEY={SECRET_KEY}",
        "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--config.exposedports", "22/tcp",
        "--config.exposedports", "8080/tcp",
        "--history.created_by", f"/bin/sh -c #(nop)  ENV AWS_ACCESS_KEY_ID={ACCESS_KEY}",
    )  # fmt: skip
    run(
        "umoci", "config", "--image", ref,
        "--history.created_by", "ADD https://downloads.example.invalid/tool.tar.gz /opt/",
    )  # fmt: skip
    run(
        "umoci", "config", "--image", ref,
        "--history.created_by", f"/bin/sh -c curl -H 'PRIVATE-TOKEN: {GITLAB}' -o /tmp/x https://git.invalid/x",
    )  # fmt: skip
    return oci_archive(layout, "risky", work / "risky.tar")


@pytest.fixture(scope="module")
def safe_image(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("safe")
    rootfs = extract_rootfs(
        data_dir / "images" / "alpine-minirootfs" / "alpine-minirootfs-3.20.3-x86_64.tar.gz", work / "rootfs"
    )
    layout = work / "layout"
    ref = oci_from_rootfs(rootfs, layout, "safe")
    run(
        "umoci", "config", "--image", ref, "--config.user", "65534:65534", "--config.exposedports", "8080/tcp"
    )
    return oci_archive(layout, "safe", work / "safe.tar")


def _rules(inv: hullscan.Inventory) -> list[str]:
    return sorted(f.rule for f in inv.config_findings)


def test_each_problem_reported_once(risky_image: Path) -> None:
    inv = hullscan.inventory(risky_image)
    assert _rules(inv) == [
        "add-from-url",
        "no-healthcheck",
        "root-user",
        "secret-env:aws-access-key-id",
        "secret-env:aws-secret-access-key",
        "secret-history:gitlab-token",
        "sensitive-port:22",
    ]
    by_rule = {f.rule: f for f in inv.config_findings}
    assert by_rule["root-user"].id == "HS-IMG-001"
    assert by_rule["sensitive-port:22"].severity == "high"
    assert by_rule["secret-env:aws-access-key-id"].severity == "critical"
    assert by_rule["secret-env:aws-access-key-id"].location.startswith("config.Env[")
    assert by_rule["secret-history:gitlab-token"].location.startswith("history[")
    # 8080 is not a sensitive port; the ENV line of the history is the ENV finding, not a second one.
    assert not any("8080" in f.rule for f in inv.config_findings)
    assert inv.config is not None
    assert inv.config.exposed_ports == ("22/tcp", "8080/tcp")


def test_a_safe_configuration_has_only_the_missing_healthcheck(safe_image: Path) -> None:
    inv = hullscan.inventory(safe_image)
    # OCI image configs have no HEALTHCHECK field, so images built by OCI tools always lack one.
    assert _rules(inv) == ["no-healthcheck"]
    assert inv.config is not None
    assert inv.config.user == "65534:65534"


def test_secrets_are_redacted_in_every_output(risky_image: Path) -> None:
    inv = hullscan.inventory(risky_image)
    texts = {"inventory-json": inv.to_json(), "repr": repr(inv)}
    for fmt in ("cyclonedx-json", "spdx-json"):
        texts[fmt] = write_sbom(inv, fmt)
    cli = [sys.executable, "-m", "hullscan.cli"]
    for args in (["inventory", str(risky_image)], ["inventory", "--format", "json", str(risky_image)]):
        proc = subprocess.run([*cli, *args], capture_output=True, text=True, check=True)
        texts[" ".join(args[:-1])] = proc.stdout + proc.stderr
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:4]}... leaked in {name}"
    # The findings say what was found, with the value masked.
    detail = next(f.detail for f in inv.config_findings if f.rule == "secret-env:aws-access-key-id")
    assert "AKIA****" in detail
    assert json.loads(texts["inventory-json"])["config"]["env"][0] == "AWS_ACCESS_KEY_ID=AKIA****"


def test_layer_history_is_redacted(risky_image: Path) -> None:
    inv = hullscan.inventory(risky_image)
    assert inv.config is not None
    assert any("glpat-****" in h for h in inv.config.history)
    assert all(GITLAB not in (layer.created_by or "") for layer in inv.layers)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github-token"),
        ("xoxb-123456789012-abcdefABCDEF", "slack-token"),
        ("AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "google-api-key"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAwJ4b0FmX3l3Yx1Cq2s1wT7h9Jd8sR0kZ\n"
            "-----END RSA PRIVATE KEY-----",
            "private-key",
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "private-key"),
        ("npm_" + "A" * 36, "npm-token"),
    ],
)
def test_secret_rules(text: str, rule: str) -> None:
    # The rules are the Rust core's, which layer files are searched with too.
    hits = find(f"x {text} y")
    assert [h.rule.id for h in hits] == [rule]
    assert text not in redact(f"x {text} y")


@pytest.mark.parametrize(
    ("env", "flagged"),
    [
        ("DB_PASSWORD=hunter2hunter2", True),
        ("API_TOKEN=0123456789abcdef", True),
        ("DB_PASSWORD_FILE=/run/secrets/db", False),
        ("DB_PASSWORD=$DB_PASSWORD_FROM_ENV", False),
        ("TOKEN_URL=https://auth.invalid/token", False),
        ("PASSWORD=short", False),
        ("PATH=/usr/bin", False),
    ],
)
def test_secrets_named_by_their_variable(env: str, flagged: bool) -> None:
    _, findings = check_config(
        {"config": {"User": "app", "Env": [env], "Healthcheck": {"Test": ["CMD", "true"]}}}
    )
    assert [f.rule for f in findings] == (["secret-env:env-named-secret"] if flagged else [])
    assert (env.partition("=")[2] not in redact(env)) is flagged


def test_healthcheck_and_users() -> None:
    def rules(cfg: dict[str, object]) -> list[str]:
        return sorted(f.rule for f in check_config({"config": cfg})[1])

    assert rules({"User": "root", "Healthcheck": {"Test": ["CMD", "true"]}}) == ["root-user"]
    assert rules({"User": "0:0", "Healthcheck": {"Test": ["NONE"]}}) == ["no-healthcheck", "root-user"]
    assert rules({"User": "nobody", "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"]}}) == []
    assert rules(
        {"User": "1000", "Healthcheck": {"Test": ["CMD", "x"]}, "ExposedPorts": {"3389/tcp": {}}}
    ) == ["sensitive-port:3389"]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"config": None},
        {"config": {"Env": "AWS=1", "ExposedPorts": ["22/tcp"], "User": 0, "Healthcheck": "x"}},
        {"config": {"Env": [1, None, {"a": 1}]}, "history": "nope"},
        {"history": [None, 1, {"created_by": 5}, {"created_by": "x" * 1_000_000}]},
    ],
)
def test_hostile_configs_never_crash(config: dict[str, object]) -> None:
    image_config, findings = check_config(config)
    assert all(len(h) <= 64 * 1024 for h in image_config.history)
    assert "root-user" in {f.rule for f in findings}


@pytest.fixture(scope="module")
def key_image(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Alpine with an RSA private key (made by openssl) at /root/.ssh/id_rsa in a layer of its own,
    a copy of it in a test-fixture directory (not a leak), and a .env with a token that a later
    layer deletes (still in the image's blobs)."""
    work = tmp_path_factory.mktemp("keys")
    rootfs = extract_rootfs(
        data_dir / "images" / "alpine-minirootfs" / "alpine-minirootfs-3.20.3-x86_64.tar.gz", work / "rootfs"
    )
    layout = work / "layout"
    ref = oci_from_rootfs(rootfs, layout, "keys")
    key = run("openssl", "genrsa", "2048")
    (work / "ssh" / ".ssh").mkdir(parents=True)
    (work / "ssh" / ".ssh" / "id_rsa").write_text(key)
    (work / "ssh" / "app" / "tests").mkdir(parents=True)
    (work / "ssh" / "app" / "tests" / "fixture_key.pem").write_text(key)
    run("umoci", "insert", "--image", ref, work / "ssh" / ".ssh", "/root/.ssh")
    run("umoci", "insert", "--image", ref, work / "ssh" / "app", "/app")
    (work / "env").mkdir()
    (work / "env" / ".env").write_text(f"# deploy settings\nREGION=eu-west-1\nGITLAB_TOKEN={GITLAB}\n")
    run("umoci", "insert", "--image", ref, work / "env" / ".env", "/app/.env")
    run("umoci", "insert", "--image", ref, "--whiteout", "/app/.env")
    body = "".join(key.strip().splitlines()[1:3])
    return oci_archive(layout, "keys", work / "keys.tar"), body


def test_secrets_in_layer_files(key_image: tuple[Path, str]) -> None:
    image, key_body = key_image
    inv = hullscan.inventory(image, secrets=True)
    files = sorted((f.rule, f.location, f.layer_index) for f in inv.config_findings if f.id == "HS-IMG-007")
    assert files == [
        ("secret-file:gitlab-token", "/app/.env:3", 3),
        ("secret-file:private-key", "/root/.ssh/id_rsa:1", 1),
    ]
    text = inv.to_json()
    assert key_body not in text
    assert GITLAB not in text
    assert "glpat-****" in text
    # Not asked: not searched (and the layer cache keeps the two kinds of result apart).
    plain = hullscan.inventory(image)
    assert not any(f.id == "HS-IMG-007" for f in plain.config_findings)
    again = hullscan.inventory(image, secrets=True)
    assert all(layer.cached for layer in again.layers)
    assert [f.location for f in again.config_findings] == [f.location for f in inv.config_findings]


def test_secrets_in_a_root_filesystem(key_image: tuple[Path, str], tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "srv").mkdir(parents=True)
    (root / "srv" / "settings.py").write_text(f"AWS_KEY = '{ACCESS_KEY}'\n")
    (root / "srv" / "logo.png").write_bytes(b"\x89PNG\r\n" + ACCESS_KEY.encode())
    inv = hullscan.inventory(f"dir:{root}", secrets=True)
    assert [(f.rule, f.location) for f in inv.config_findings] == [
        ("secret-file:aws-access-key-id", "/srv/settings.py:1")
    ]


@pytest.fixture(scope="module")
def risky_scan(risky_image: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """A scan of the risky image, its layer files searched for secrets too, with the Alpine 3.20
    advisories (so the reports carry vulnerabilities and image checks side by side)."""
    from hullscan.db import import_paths

    cache = tmp_path_factory.mktemp("risky-cache")
    feed = data_dir / "advisories" / "alpine-secdb" / "vuln-list-alpine-3.20-main-5pkgs.tar.zst"
    with import_paths([feed], cache_dir=cache) as db:
        path = db.path
    return hullscan.scan(risky_image, db=path, cache_dir=cache, secrets=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_checks_in_every_report_format_with_secrets_masked(risky_scan: ScanResult, fmt: str) -> None:
    text = render(risky_scan, fmt)
    for secret in SECRETS:
        assert secret not in text, f"{secret[:4]}... leaked in {fmt}"
    checks = risky_scan.inventory.config_findings
    assert len(checks) == 7
    if fmt == "cyclonedx-json":
        return  # a VDR lists components and vulnerabilities; image checks are not CycloneDX data
    for c in checks:
        assert c.id in text, f"{c.id} missing from {fmt}"
    assert ("AKIA\\*\\*\\*\\*" if fmt == "markdown" else "AKIA****") in text


def test_checks_in_json_and_sarif_validate(risky_scan: ScanResult) -> None:
    doc = json.loads(render(risky_scan, "json"))
    assert_valid(scan_schema(), doc)
    assert sorted(c["rule"] for c in doc["config_findings"]) == sorted(
        c.rule for c in risky_scan.inventory.config_findings
    )
    sarif = json.loads(render(risky_scan, "sarif"))
    assert_valid(json.loads(SARIF_SCHEMA.read_text()), sarif)
    run_ = sarif["runs"][0]
    check_results = [r for r in run_["results"] if r["ruleId"].startswith("HS-IMG-")]
    # Each problem once: one result per check finding, one rule per check id.
    assert len(check_results) == len(risky_scan.inventory.config_findings)
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for r in check_results:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]


def test_file_secret_located_in_sarif(key_image: tuple[Path, str], tmp_path: Path) -> None:
    inv = hullscan.inventory(key_image[0], secrets=True)
    result = ScanResult(inv, ())
    sarif = json.loads(render(result, "sarif"))
    locs = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "HS-IMG-007"
    }
    assert locs == {("root/.ssh/id_rsa", 1), ("app/.env", 3)}
    assert key_image[1] not in json.dumps(sarif)


def test_cli_secrets_flag(key_image: tuple[Path, str], tmp_path: Path) -> None:
    from hullscan.db import import_paths

    image, key_body = key_image
    cli = [sys.executable, "-m", "hullscan.cli"]
    env = {**os.environ, "HULLSCAN_CACHE_DIR": str(tmp_path / "cache")}
    inv = subprocess.run(
        [*cli, "inventory", "--secrets", str(image)], capture_output=True, text=True, env=env
    )
    assert inv.returncode == 0, inv.stderr
    assert "HS-IMG-007 high: Private key in a file (/root/.ssh/id_rsa:1)" in inv.stdout
    feed = Path(os.environ.get("HULLSCAN_TEST_DATA", DATA)) / "advisories/alpine-secdb"
    with import_paths([feed / "vuln-list-alpine-3.20-main-5pkgs.tar.zst"], cache_dir=tmp_path / "cache"):
        pass
    scan = subprocess.run(
        [*cli, "scan", "--offline", "--secrets", "--format", "table", str(image)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert scan.returncode == 0, scan.stderr
    assert "IMAGE CHECKS" in scan.stdout
    assert "/root/.ssh/id_rsa:1" in scan.stdout
    without = subprocess.run(
        [*cli, "scan", "--offline", "--format", "table", str(image)], capture_output=True, text=True, env=env
    )
    assert "id_rsa" not in without.stdout
    for out in (inv.stdout, scan.stdout, without.stdout):
        assert key_body not in out
        assert GITLAB not in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_key_file_reported_once_in_every_format(key_image: tuple[Path, str], fmt: str) -> None:
    """The RSA private key in a layer file: one HS-IMG-007 finding per file, in every format, and
    never the key itself."""
    image, key_body = key_image
    inv = hullscan.inventory(image, secrets=True)
    text = render(ScanResult(inv, ()), fmt)
    assert key_body not in text
    assert GITLAB not in text
    if fmt == "cyclonedx-json":
        return  # image checks are not CycloneDX data
    if fmt in ("json", "sarif", "asff"):
        doc = json.loads(text)
        if fmt == "json":
            items = [c for c in doc["config_findings"] if c["id"] == "HS-IMG-007"]
        elif fmt == "sarif":
            items = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "HS-IMG-007"]
        else:
            items = [f for f in doc["Findings"] if "HS-IMG-007" in json.dumps(f)]
        assert len(items) == 2  # /root/.ssh/id_rsa and /app/.env
    else:
        assert "HS-IMG-007" in text
        assert "/root/.ssh/id" in text
