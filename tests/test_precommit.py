"""Must-show 5: the published pre-commit hook runs through `pre-commit try-repo` in a test
repository (offline: a `language: script` hook calling the installed hullscan), and the documented
pre-push example blocks a real `git push` to a local bare repository when the gate fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from hullscan.severity import RANK
from triage_data import IMAGE, TriageDb
from triage_data import triage_db as triage_db

GIT_ENV = {
    "GIT_AUTHOR_NAME": "hullscan tests",
    "GIT_AUTHOR_EMAIL": "tests@127.0.0.1",
    "GIT_COMMITTER_NAME": "hullscan tests",
    "GIT_COMMITTER_EMAIL": "tests@127.0.0.1",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def sh(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def project(tmp_path: Path, triage_db: TriageDb) -> tuple[Path, dict[str, str]]:
    """A git repository whose .hullscan-image names the test image, and an environment whose
    hullscan cache holds the triage database (so the hook needs no network)."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    env = {
        **os.environ,
        **GIT_ENV,
        "HOME": str(tmp_path / "home"),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "HULLSCAN_CACHE_DIR": str(triage_db.cache),
    }
    (tmp_path / "home").mkdir()
    proj = tmp_path / "project"
    proj.mkdir()
    sh("git", "init", "-q", "-b", "main", cwd=proj, env=env)
    (proj / ".hullscan-image").write_text(f"oci-archive:{IMAGE}\n")
    sh("git", "add", ".", cwd=proj, env=env)
    assert sh("git", "commit", "-qm", "image", cwd=proj, env=env).returncode == 0
    return proj, env


def ignore_rules_for_high(triage_db: TriageDb) -> str:
    """Ignore rules for every finding at or above high, from a scan's JSON."""
    p = subprocess.run(
        ["hullscan", "scan", str(IMAGE), "--db", str(triage_db.generation), "--offline", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    ids = sorted(
        {f["id"] for f in json.loads(p.stdout)["findings"] if RANK[f["severity"]["level"]] >= RANK["high"]}
    )
    assert ids
    return "ignore:\n" + "".join(f"  - id: {i}\n    reason: accepted for the hook test\n" for i in ids)


def test_pre_commit_try_repo(project: tuple[Path, dict[str, str]], triage_db: TriageDb) -> None:
    proj, env = project
    try_repo = ["pre-commit", "try-repo", str(REPO), "hullscan", "--all-files", "--verbose"]
    p = sh(*try_repo, cwd=proj, env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "hullscan image scan" in p.stdout
    assert "Failed" in p.stdout
    assert "gate failed:" in p.stdout
    assert "at or above high" in p.stdout
    (proj / ".hullscan.yaml").write_text(ignore_rules_for_high(triage_db))
    p = sh(*try_repo, cwd=proj, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Passed" in p.stdout
    # No image anywhere: the hook fails with its one-line explanation.
    (proj / ".hullscan-image").unlink()
    p = sh(*try_repo, cwd=proj, env=env)
    assert p.returncode == 1
    assert "no image to scan" in p.stdout


def test_pre_push_example_blocks_the_push(project: tuple[Path, dict[str, str]], triage_db: TriageDb) -> None:
    proj, env = project
    remote = proj.parent / "remote.git"
    assert sh("git", "init", "-q", "--bare", str(remote), cwd=proj, env=env).returncode == 0
    sh("git", "remote", "add", "origin", str(remote), cwd=proj, env=env)
    hook = proj / ".git" / "hooks" / "pre-push"
    shutil.copy(REPO / "hooks" / "pre-push.example", hook)
    hook.chmod(0o755)

    p = sh("git", "push", "-q", "origin", "main", cwd=proj, env=env)
    assert p.returncode != 0
    assert "gate failed:" in p.stderr
    assert sh("git", "rev-parse", "--verify", "-q", "main", cwd=remote, env=env).returncode != 0  # not pushed

    (proj / ".hullscan.yaml").write_text(ignore_rules_for_high(triage_db))
    sh("git", "add", ".hullscan.yaml", cwd=proj, env=env)
    sh("git", "commit", "-qm", "accept the high findings", cwd=proj, env=env)
    p = sh("git", "push", "-q", "origin", "main", cwd=proj, env=env)
    assert p.returncode == 0, p.stderr
    head = sh("git", "rev-parse", "HEAD", cwd=proj, env=env).stdout
    assert sh("git", "rev-parse", "main", cwd=remote, env=env).stdout == head
    # A stricter gate from the environment blocks the next push again.
    (proj / "README").write_text("x\n")
    sh("git", "add", "README", cwd=proj, env=env)
    sh("git", "commit", "-qm", "readme", cwd=proj, env=env)
    p = sh("git", "push", "-q", "origin", "main", cwd=proj, env={**env, "HULLSCAN_GATE": "--fail-on medium"})
    assert p.returncode != 0
    assert "at or above medium" in p.stderr
