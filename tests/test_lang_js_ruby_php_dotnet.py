"""npm, Ruby gem, Composer and .NET catalogers, on real files: syft's image-pkg-coverage tree read
independently here and by syft, a node_modules tree and a layered image built here, matching
against the npm advisories, and hostile input of every format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hullscan
from conftest import DATA, require_tool
from hullscan import db
from imagebuild import oci_add_dir, oci_init, oci_whiteout

COVERAGE = "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage"
KINDS = ("npm", "gem", "php-composer", "dotnet")  # syft's artifact types are the same names
ECOSYSTEMS = {"npm": "npm", "gem": "RubyGems", "php-composer": "Packagist", "dotnet": "NuGet"}
PURL_TYPES = {"npm": "npm", "gem": "gem", "php-composer": "composer", "dotnet": "nuget"}
NPM_ZIP = DATA / "advisories/osv/npm/all.zip"

Row = tuple[str, str, str, str]  # kind, name, version, location


# --------------------------------------------------------------------------------------------
# Independent readers: what each file declares, by the formats' own rules (no hullscan code).


def _registry(name: str, version: str) -> tuple[str, str] | None:
    """An npm lockfile entry's registry package: `npm:` aliases name the real one; local and git
    sources are no registry versions."""
    if version.startswith("npm:"):
        spec = version[4:]
        at = spec.index("@", 1)
        name, version = spec[:at], spec[at + 1 :]
    if not version[:1].isdigit() or ":" in version:
        return None
    return name, version


def read_package_json(path: Path) -> set[tuple[str, str]]:
    doc = json.loads(path.read_text())
    name, version = doc.get("name"), doc.get("version")
    if isinstance(name, str) and isinstance(version, str) and name and version:
        return {(name, version)}
    return set()


def read_package_lock(path: Path) -> set[tuple[str, str]]:
    doc = json.loads(path.read_text())
    out: set[tuple[str, str]] = set()
    if "packages" in doc:
        for key, e in doc["packages"].items():
            if key == "" or e.get("link") or e.get("dev") or "version" not in e:
                continue
            name = e.get("name") or key.rpartition("node_modules/")[2]
            if hit := _registry(name, e["version"]):
                out.add(hit)
        return out

    def walk(deps: dict[str, Any]) -> None:
        for name, e in deps.items():
            walk(e.get("dependencies", {}))
            if not e.get("dev") and "version" in e and (hit := _registry(name, e["version"])):
                out.add(hit)

    walk(doc.get("dependencies", {}))
    return out


def read_yarn_lock(path: Path) -> set[tuple[str, str]]:
    """yarn v1: `name@range[, ...]:` headers, each with an indented `version "x"`."""
    out = set()
    header = None
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line[0].isspace():
            header = line.rstrip(":").split(",")[0].strip().strip('"')
        elif header and (m := re.fullmatch(r'  version "([^"]+)"', line)):
            name, _, rng = header.partition("@")
            if not name:  # scoped
                rest, _, rng = header[1:].partition("@")
                name = "@" + rest
            if rng.startswith("npm:"):
                real = rng[4:]
                name = real[: real.index("@", 1)] if "@" in real[1:] else real
            out.add((name, m.group(1)))
            header = None
    return out


def read_gemspec(path: Path) -> set[tuple[str, str]]:
    text = path.read_text()
    name = re.search(r"^\s*\w+\.name\s*=\s*[\"']([^\"']+)[\"']", text, re.M)
    version = re.search(r"^\s*\w+\.version\s*=\s*[\"']([^\"']+)[\"']", text, re.M)
    return {(name.group(1), version.group(1))} if name and version else set()


def read_gemfile_lock(path: Path) -> set[tuple[str, str]]:
    out = set()
    section = ""
    for line in path.read_text().splitlines():
        if line and not line.startswith(" "):
            section = line.strip()
        elif section in ("GEM", "GIT", "PATH", "PLUGIN SOURCE") and (
            m := re.fullmatch(r"    (\S+) \(([^)]+)\)", line)
        ):
            out.add((m.group(1), m.group(2).split("-")[0]))  # a platform suffix is not the version
    return out


def read_composer(path: Path) -> set[tuple[str, str]]:
    doc = json.loads(path.read_text())
    pkgs = doc if isinstance(doc, list) else doc.get("packages", [])  # never packages-dev
    return {(p["name"], p["version"]) for p in pkgs if p.get("name") and p.get("version")}


def read_deps_json(path: Path) -> set[tuple[str, str]]:
    doc = json.loads(path.read_text())
    out = set()
    for key in doc.get("libraries", {}):
        name, _, version = key.partition("/")
        if name and version and "/" not in version:
            out.add((name, version))
    return out


READERS = (
    ("npm", re.compile(r"(^|/)package\.json$"), read_package_json),
    ("npm", re.compile(r"(^|/)package-lock\.json$"), read_package_lock),
    ("npm", re.compile(r"(^|/)yarn\.lock$"), read_yarn_lock),
    ("gem", re.compile(r"(^|/)specifications/(.+/)?[^/]+\.gemspec$"), read_gemspec),
    ("gem", re.compile(r"(^|/)Gemfile\.lock$"), read_gemfile_lock),
    ("php-composer", re.compile(r"(^|/)composer/installed\.json$|(^|/)composer\.lock$"), read_composer),
    ("dotnet", re.compile(r"[^/]\.deps\.json$"), read_deps_json),
)


def files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):  # symlinks are not followed, as hullscan does
        for n in names:
            p = Path(dirpath) / n
            if p.is_file() and not p.is_symlink():
                yield p


def declared(root: Path) -> set[Row]:
    """Every (kind, name, version, /location) the files under `root` declare."""
    rows = set()
    for p in files(root):
        rel = p.relative_to(root).as_posix()
        in_node_modules = "node_modules" in rel.split("/")[:-1]
        for kind, pattern, reader in READERS:
            if not pattern.search(rel):
                continue
            if reader in (read_package_lock, read_yarn_lock) and in_node_modules:
                continue
            rows |= {(kind, n, v, "/" + rel) for n, v in reader(p)}
    return rows


def hullscan_rows(inv: hullscan.Inventory) -> set[Row]:
    return {(p.kind, p.name, p.version, loc) for p in inv.packages if p.kind in KINDS for loc in p.locations}


def syft_rows(root: Path) -> set[Row]:
    """syft with its image *and* directory catalogers of these ecosystems (a `dir:` scan runs only
    the directory ones, which skip installed package.json, gemspec and installed.json files)."""
    proc = subprocess.run(
        [
            *(require_tool("syft"), "scan", f"dir:{root}", "-o", "json", "-q"),
            *("--override-default-catalogers", "javascript,ruby,php,dotnet"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false"),
    )
    rows = set()
    for a in json.loads(proc.stdout)["artifacts"]:
        if a["type"] in KINDS:
            rows |= {(a["type"], a["name"], a["version"], loc["path"]) for loc in a["locations"]}
    return rows


@pytest.fixture(scope="session")
def coverage(edge_fixtures: Path) -> Path:
    return edge_fixtures / COVERAGE


@pytest.fixture(scope="session")
def coverage_inventory(coverage: Path) -> hullscan.Inventory:
    return hullscan.inventory(f"dir:{coverage}", use_cache=False)


# --------------------------------------------------------------------------------------------
# syft's coverage tree


def test_coverage_tree_matches_independent_reading(
    coverage: Path, coverage_inventory: hullscan.Inventory
) -> None:
    expected = declared(coverage)
    found = hullscan_rows(coverage_inventory)
    assert {r[0] for r in expected} == set(KINDS)
    assert found == expected
    assert not coverage_inventory.warnings
    by_name = {(p.kind, p.name): p for p in coverage_inventory.packages}
    for p in coverage_inventory.packages:
        if p.kind in KINDS:
            assert p.ecosystem == ECOSYSTEMS[p.kind]
            assert p.purl.startswith(f"pkg:{PURL_TYPES[p.kind]}/")
    assert by_name["npm", "@babel/code-frame"].purl == "pkg:npm/%40babel/code-frame@7.10.4"
    assert by_name["php-composer", "nikic/fast-route"].purl == "pkg:composer/nikic/fast-route@v1.3.0"
    # Licences where the files give them: read here from the files themselves.
    npm_json = json.loads((coverage / "pkgs/javascript/package-json/package.json").read_text())
    assert by_name["npm", "npm"].license == npm_json["license"]
    assert by_name["gem", "bundler"].license == "MIT"  # s.licenses = ["MIT".freeze]
    for p in json.loads((coverage / "pkgs/php/vendor/composer/installed.json").read_text())["packages"]:
        assert by_name["php-composer", p["name"]].license == " OR ".join(p["license"])
    # composer.lock's packages-dev are not inventoried (syft's default too).
    lock = json.loads((coverage / "composer/composer.lock").read_text())
    assert lock["packages-dev"]
    assert not {("php-composer", p["name"]) for p in lock["packages-dev"]} & set(by_name)


@pytest.mark.parametrize("kind", KINDS)
def test_coverage_tree_agrees_with_syft(
    kind: str, coverage: Path, coverage_inventory: hullscan.Inventory, syft_coverage: set[Row]
) -> None:
    ours = {r[1:3] for r in hullscan_rows(coverage_inventory) if r[0] == kind}
    theirs = {r[1:3] for r in syft_coverage if r[0] == kind}
    assert theirs, f"syft found no {kind} packages"
    agreement = len(ours & theirs) / len(ours | theirs)
    assert agreement >= 0.95, (ours - theirs, theirs - ours)
    # Every difference must be one of those explained in test_edge_cases_differ_from_syft_as_documented;
    # on this tree there are none.
    assert ours == theirs


@pytest.fixture(scope="session")
def syft_coverage(coverage: Path) -> set[Row]:
    return syft_rows(coverage)


# --------------------------------------------------------------------------------------------
# Where hullscan and syft 1.18 differ, file by file, each difference with its reason.


def _write(root: Path, rel: str, content: str | dict[str, Any] | list[Any]) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


EDGE_FILES: dict[str, str | dict[str, Any] | list[Any]] = {
    "js/package.json": {"name": "app", "version": "1.0.0", "private": True, "workspaces": ["packages/*"]},
    "js/packages/w2/package.json": {"name": "w2"},
    "v1/package-lock.json": {
        "name": "root",
        "version": "1.0.0",
        "lockfileVersion": 1,
        "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
            "d": {"version": "3.0.0", "dev": True},
            "l": {"version": "file:../l"},
            "al": {"version": "npm:real@1.2.3"},
            "nov": {},
        },
    },
    "v3/package-lock.json": {
        "name": "root",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "root", "version": "1.0.0"},
            "node_modules/a": {"version": "1.0.0"},
            "node_modules/a/node_modules/@s/b": {"version": "2.0.0"},
            "node_modules/d": {"version": "3.0.0", "dev": True},
            "node_modules/w": {"resolved": "packages/w", "link": True},
            "packages/w": {"name": "w", "version": "0.5.0"},
            "node_modules/opt": {"version": "4.0.0", "devOptional": True},
        },
    },
    "yarn1/yarn.lock": (
        '# yarn lockfile v1\n\n\nlodash@^4.17.15:\n  version "4.17.15"\n\n'
        '"alias@npm:real@^1":\n  version "1.0.1"\n'
    ),
    "berry/yarn.lock": (
        "__metadata:\n  version: 6\n\n"
        '"app@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "app@workspace:."\n\n'
        '"lodash@npm:^4.17.20":\n  version: 4.17.21\n  resolution: "lodash@npm:4.17.21"\n'
    ),
    "js/node_modules/foo/package.json": {"name": "foo", "version": "1.0.0"},
    "js/node_modules/foo/yarn.lock": 'left-pad@^1:\n  version "1.3.0"\n',  # skipped by both
    "js/node_modules/foo/pnpm-lock.yaml": (
        "lockfileVersion: 5.4\n\npackages:\n\n  /left-pad/1.3.0:\n    dev: true\n"
    ),
    "pnpm/pnpm-lock.yaml": (
        "lockfileVersion: 5.4\n\npackages:\n\n  /lodash/4.17.15:\n    dev: false\n\n"
        "  /@babel/core/7.20.0_supports-color@5.5.0:\n    dev: true\n"
    ),
    "rb/Gemfile.lock": (
        "GEM\n  specs:\n    nokogiri (1.13.10-x86_64-linux)\n    racc (1.6.1)\n\nPLATFORMS\n  x86_64-linux\n"
    ),
    "rb/specifications/old-0.9.1.gemspec": (
        'Gem::Specification.new do |s|\n  s.name = %q{oldgem}\n  s.version = "0.9.1"\nend\n'
    ),
    "rb/specifications/gv-1.2.3.gemspec": (
        "Gem::Specification.new do |s|\n  s.name = 'gv'\n  s.version = Gem::Version.new(\"1.2.3\")\nend\n"
    ),
    "php/vendor/composer/installed.json": [{"name": "a/b", "version": "1.0.0"}, {"name": "nover/x"}],
    "dn/App.deps.json": {
        "libraries": {
            "App/1.0.0": {"type": "project"},
            "Pkg.A/2.0.0": {"type": "package"},
            "Weird/1.0/extra": {"type": "package"},
            "Empty/": {"type": "package"},
        }
    },
    "dn2/x.deps.json": {
        "libraries": {"Only.Lib/1.0.0": {"type": "package"}, "Proj/2.0.0": {"type": "project"}}
    },
}

ONLY_HULLSCAN: dict[Row, str] = {
    (
        "npm",
        "b",
        "2.0.0",
        "/v1/package-lock.json",
    ): "v1 nested dependencies are installed too; syft reads the top level",
    ("npm", "real", "1.0.1", "/yarn1/yarn.lock"): "an npm alias installs `real`; syft names the alias",
    ("npm", "@babel/core", "7.20.0", "/pnpm/pnpm-lock.yaml"): "a peer suffix is no part of the version",
    ("gem", "nokogiri", "1.13.10", "/rb/Gemfile.lock"): "the platform goes to arch, not the version",
    ("gem", "oldgem", "0.9.1", "/rb/specifications/old-0.9.1.gemspec"): "%q{} strings (RubyGems 1.x)",
    ("gem", "gv", "1.2.3", "/rb/specifications/gv-1.2.3.gemspec"): "Gem::Version.new(...) is read",
    (
        "dotnet",
        "Only.Lib",
        "1.0.0",
        "/dn2/x.deps.json",
    ): "syft lists nothing without a root project named like the file",
    ("dotnet", "Proj", "2.0.0", "/dn2/x.deps.json"): "as above",
}

ONLY_SYFT: dict[Row, str] = {
    ("npm", "w2", "UNKNOWN", "/js/packages/w2/package.json"): "no version: no advisory can match it",
    ("npm", "l", "file:../l", "/v1/package-lock.json"): "a local folder, not a registry version",
    ("npm", "nov", "UNKNOWN", "/v1/package-lock.json"): "no version",
    ("npm", "root", "1.0.0", "/v3/package-lock.json"): "the lockfile's own project (root entry) is skipped",
    ("npm", "w", "UNKNOWN", "/v3/package-lock.json"): "a link entry; its target `packages/w` is listed",
    ("npm", "alias", "1.0.1", "/yarn1/yarn.lock"): "the alias; hullscan reports the real package",
    (
        "npm",
        "app",
        "0.0.0-use.local",
        "/berry/yarn.lock",
    ): "a workspace of the project, not a registry package",
    (
        "npm",
        "left-pad",
        "1.3.0",
        "/js/node_modules/foo/pnpm-lock.yaml",
    ): "a dependency's own lockfile lists its"
    " development tree, not what is installed (syft skips package-lock.json and yarn.lock there, not pnpm's)",
    ("npm", "@babel/core", "7.20.0_supports-color@5.5.0", "/pnpm/pnpm-lock.yaml"): "peer suffix (see above)",
    ("gem", "nokogiri", "1.13.10-x86_64-linux", "/rb/Gemfile.lock"): "platform suffix (see above)",
    ("gem", "gv", "UNKNOWN", "/rb/specifications/gv-1.2.3.gemspec"): "syft misses Gem::Version.new",
    ("php-composer", "nover/x", "UNKNOWN", "/php/vendor/composer/installed.json"): "no version",
    ("dotnet", "Weird", "1.0", "/dn/App.deps.json"): "not a Name/Version key",
    ("dotnet", "Empty", "UNKNOWN", "/dn/App.deps.json"): "no version",
}


def test_edge_cases_differ_from_syft_as_documented(tmp_path: Path) -> None:
    root = tmp_path / "edge"
    for rel, content in EDGE_FILES.items():
        _write(root, rel, content)
    ours = hullscan_rows(hullscan.inventory(f"dir:{root}"))
    theirs = syft_rows(root)
    assert ours - theirs == set(ONLY_HULLSCAN)
    assert theirs - ours == set(ONLY_SYFT)
    assert len(ours & theirs) >= 12  # the rest agrees: lodash, a, @s/b, w, opt, real, racc, a/b, App, ...
    assert ours == declared(root) | {
        # what the tiny readers here do not model: berry entries, pnpm keys, old gemspec syntax
        ("npm", "lodash", "4.17.21", "/berry/yarn.lock"),
        ("npm", "lodash", "4.17.15", "/pnpm/pnpm-lock.yaml"),
        ("npm", "@babel/core", "7.20.0", "/pnpm/pnpm-lock.yaml"),
        ("gem", "oldgem", "0.9.1", "/rb/specifications/old-0.9.1.gemspec"),
        ("gem", "gv", "1.2.3", "/rb/specifications/gv-1.2.3.gemspec"),
    }


# --------------------------------------------------------------------------------------------
# A node_modules tree as npm lays it out, and the same in a layered image.

NODE_TREE: dict[str, dict[str, Any]] = {
    "srv/shop/package.json": {
        "name": "shop",
        "version": "1.0.0",
        "private": True,
        "workspaces": ["packages/*"],
        "license": "MIT",
    },
    "srv/shop/packages/web/package.json": {"name": "@shop/web", "version": "0.3.0"},
    "srv/shop/node_modules/express/package.json": {"name": "express", "version": "4.17.1", "license": "MIT"},
    "srv/shop/node_modules/express/lib/package.json": {"type": "commonjs"},
    "srv/shop/node_modules/express/node_modules/debug/package.json": {"name": "debug", "version": "2.6.9"},
    "srv/shop/node_modules/express/node_modules/debug/node_modules/ms/package.json": {
        "name": "ms",
        "version": "2.0.0",
    },
    "srv/shop/node_modules/debug/package.json": {"name": "debug", "version": "4.3.4"},
    "srv/shop/node_modules/@types/node/package.json": {
        "name": "@types/node",
        "version": "20.11.5",
        "license": "MIT",
    },
    # npm's hidden lockfile repeats what the package.json files say; it is not read.
    "srv/shop/node_modules/.package-lock.json": {
        "lockfileVersion": 3,
        "packages": {"node_modules/debug": {"version": "4.3.4"}},
    },
}


@pytest.fixture(scope="session")
def node_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("node") / "rootfs"
    for rel, doc in NODE_TREE.items():
        _write(root, rel, doc)
    # npm links each workspace into node_modules; the link is not followed (no double count).
    link = root / "srv/shop/node_modules/@shop/web"
    link.parent.mkdir(parents=True)
    link.symlink_to("../../packages/web")
    return root


def test_node_modules_tree(node_tree: Path) -> None:
    inv = hullscan.inventory(f"dir:{node_tree}")
    assert not inv.warnings
    found = hullscan_rows(inv)
    assert found == declared(node_tree)
    assert len(found) == 7
    debug = {p.version: p.locations for p in inv.packages if p.name == "debug"}
    assert debug == {
        "2.6.9": ("/srv/shop/node_modules/express/node_modules/debug/package.json",),
        "4.3.4": ("/srv/shop/node_modules/debug/package.json",),
    }
    by_name = {p.name: p for p in inv.packages}
    assert by_name["ms"].locations == (
        "/srv/shop/node_modules/express/node_modules/debug/node_modules/ms/package.json",
    )
    assert by_name["@types/node"].purl == "pkg:npm/%40types/node@20.11.5"
    assert by_name["@shop/web"].locations == ("/srv/shop/packages/web/package.json",)
    assert by_name["express"].license == "MIT"
    assert by_name["shop"].ecosystem == "npm"


def test_node_modules_layers(node_tree: Path, tmp_path: Path) -> None:
    require_tool("umoci")
    layout = tmp_path / "layout"
    ref = oci_init(layout, "app")
    oci_add_dir(ref, node_tree, "/")
    # `npm dedupe` in a later layer: express's private debug (and its ms) are removed...
    oci_whiteout(ref, "/srv/shop/node_modules/express/node_modules/debug")
    # ...and a later layer installs lodash.
    extra = tmp_path / "extra"
    _write(extra, "srv/shop/node_modules/lodash/package.json", {"name": "lodash", "version": "4.17.21"})
    oci_add_dir(ref, extra, "/")
    inv = hullscan.inventory(f"oci-dir:{layout}:app")
    layer_of = {(p.name, p.version): p.layer_index for p in inv.packages if p.kind == "npm"}
    assert layer_of == {
        ("shop", "1.0.0"): 0,
        ("@shop/web", "0.3.0"): 0,
        ("express", "4.17.1"): 0,
        ("debug", "4.3.4"): 0,
        ("@types/node", "20.11.5"): 0,
        ("lodash", "4.17.21"): 2,
    }


# --------------------------------------------------------------------------------------------
# Matching against the npm advisories, checked with a semver comparator written here.


def _semver_key(v: str) -> tuple[Any, ...]:
    """SemVer 2.0 precedence: build metadata ignored; a release sorts after its prereleases;
    prerelease identifiers compare numerically or as ASCII, numeric ones first, and a shorter list
    of equal identifiers first."""
    core, _, pre = v.split("+")[0].partition("-")
    nums = tuple(int(x) for x in core.split("."))
    if len(nums) != 3 or not core.replace(".", "").isdigit():
        raise ValueError(v)
    if not pre:
        return (nums, (1,))
    ids = tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in pre.split("."))
    return (nums, (0, *ids))


LOWEST = ((-1,), ())  # OSV's `introduced: "0"`


def npm_affected(record: dict[str, Any], name: str, version: str) -> bool:
    v = _semver_key(version)
    for a in record.get("affected", []):
        pkg = a.get("package", {})
        if pkg.get("ecosystem") != "npm" or pkg.get("name") != name:
            continue
        if version in a.get("versions", []):
            return True
        for r in a.get("ranges", []):
            if r.get("type") not in ("SEMVER", "ECOSYSTEM"):
                continue
            events = sorted(
                r["events"],
                key=lambda e: LOWEST if e.get("introduced") == "0" else _semver_key(next(iter(e.values()))),
            )
            inside = False
            for e in events:
                if "introduced" in e and (e["introduced"] == "0" or v >= _semver_key(e["introduced"])):
                    inside = True
                elif (
                    ("fixed" in e and v >= _semver_key(e["fixed"]))
                    or ("last_affected" in e and v > _semver_key(e["last_affected"]))
                    or ("limit" in e and v >= _semver_key(e["limit"]))
                ):
                    inside = False
            if inside:
                return True
    return False


def expected_findings(installed: set[tuple[str, str]]) -> set[tuple[str, str, frozenset[str]]]:
    hits: dict[tuple[str, str], list[set[str]]] = {p: [] for p in installed}
    with zipfile.ZipFile(NPM_ZIP) as z:
        for member in z.namelist():
            rec = json.loads(z.read(member))
            if rec.get("withdrawn"):
                continue
            for name, version in installed:
                if npm_affected(rec, name, version):
                    hits[name, version].append({rec["id"], *rec.get("aliases", [])})
    out = set()
    for (name, version), idsets in hits.items():
        groups: list[set[str]] = []
        for ids in idsets:
            for g in [g for g in groups if g & ids]:
                groups.remove(g)
                ids = ids | g
            groups.append(ids)
        out |= {(name, version, frozenset(g)) for g in groups}
    return out


def test_semver_comparator_here_agrees_with_node_semver_vectors() -> None:
    """The comparator of this test, checked on node-semver's own comparison fixtures."""
    rows = (DATA / "vectors/semver.tsv").read_text().splitlines()[1:]
    checked = 0
    for row in rows:
        a, op, b, _src = row.split("\t")
        try:
            ka, kb = _semver_key(a), _semver_key(b)
        except ValueError:
            continue  # loose forms (`v1.2.3`, `=1.2.3`) that registry versions never take
        assert {"<": ka < kb, "=": ka == kb, ">": ka > kb}[op], row
        checked += 1
    assert checked >= 15


def test_npm_matching(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    _write(root, "srv/app/node_modules/lodash/package.json", {"name": "lodash", "version": "4.17.15"})
    _write(
        root,
        "srv/app/package-lock.json",
        {
            "lockfileVersion": 3,
            "packages": {
                "": {"name": "app", "version": "1.0.0"},
                "node_modules/mkdirp": {"version": "0.5.1"},
                "node_modules/mkdirp/node_modules/minimist": {"version": "0.0.8"},
                "node_modules/qs": {"version": "6.5.2", "dev": True},  # dev: not installed
                "node_modules/ws": {"version": "7.4.5"},
            },
        },
    )
    _write(root, "srv/other/yarn.lock", '# yarn lockfile v1\n\n\nqs@^6.5.1:\n  version "6.5.2"\n')
    installed = {(n, v) for _k, n, v, _loc in declared(root)}
    assert ("lodash", "4.17.15") in installed
    assert ("qs", "6.5.2") in installed

    db.import_paths([NPM_ZIP])
    result = hullscan.scan(f"dir:{root}", offline=True)
    assert {(p.name, p.version) for p in result.packages if p.kind == "npm"} == installed
    expected = expected_findings(installed)
    found = {(f.package.name, f.installed_version, frozenset({f.id, *f.aliases})) for f in result.findings}
    assert found == expected
    lodash = {i for n, _v, g in found if n == "lodash" for i in g}
    assert "GHSA-35jh-r3h4-6jhm" in lodash
    assert {n for n, _v, _g in found} >= {"lodash", "minimist", "qs", "ws"}
    for f in result.findings:
        assert f.package.ecosystem == "npm"
        assert f.explanation.comparator == "semver"
        assert f.explanation.locations[0].startswith("/srv/")


# --------------------------------------------------------------------------------------------
# Hostile input: typed warnings, bounded work, the rest of the layer still inventoried.

N = 1_000_000


def _hostile_tree(root: Path) -> dict[str, str]:
    """Write bad files of every format; returns {path: the warning kind expected for it}."""
    deep_v1 = '{"lockfileVersion":1,"dependencies":' + '{"a":{"version":"1.0.0","dependencies":' * 5000
    bad: dict[str, tuple[str | bytes, str]] = {
        "bad/node_modules/a/package.json": ('{"name": "a", version: 1}', "malformed JSON"),
        "bad/node_modules/b/package.json": ('{"name": "b", "version": "1.0.', "truncated JSON"),
        "bad/node_modules/c/package.json": ("[1, 2]", "unexpected JSON structure"),
        "bad/v1/package-lock.json": (deep_v1 + "{}" + "}}" * 5000 + "}", "JSON nested too deeply"),
        "bad/big/package-lock.json": (
            '{"lockfileVersion":3,"packages":{'
            + ",".join(f'"node_modules/p{i}":{{}}' for i in range(N))
            + "}}",
            "more than 100000 packages",
        ),
        "bad/trunc/package-lock.json": (
            '{"lockfileVersion":3,"packages":{"node_modules/x":{"vers',
            "truncated JSON",
        ),
        "bad/types/package-lock.json": (
            '{"lockfileVersion":3,"packages":["x"]}',
            "unexpected JSON structure",
        ),
        "bad/yarnbig/yarn.lock": (
            "".join(f'p{i}@^1:\n  version "1.0.0"\n' for i in range(N)),
            "more than 100000",
        ),
        "bad/yarnjunk/yarn.lock": (os.urandom(4096).replace(b":", b"."), "no yarn.lock entries"),
        "bad/pnpm/pnpm-lock.yaml": ("packages:\n  /a/1.0.0:\n", "no lockfileVersion"),
        "bad/rb/specifications/junk.gemspec": (b"\x00\x01\x02 binary", "not a gemspec"),
        "bad/rb/Gemfile.lock": (
            "GEM\n  specs:\n" + "".join(f"    {i:x} (1)\n" for i in range(N)),
            "more than 100000",
        ),
        "bad/php/vendor/composer/installed.json": ("[" + "{}," * N + "{}]", "more than 100000"),
        "bad/php2/composer.lock": ('{"packages": {"a": 1}}', "unexpected JSON structure"),
        "bad/php3/vendor/composer/installed.json": ('{"packages": [{"name": "a/b", "vers', "truncated JSON"),
        "bad/dn/a.deps.json": ('{"libraries": {"A/1.0": {}', "truncated JSON"),
        "bad/dn/b.deps.json": (
            '{"libraries":{' + ",".join(f'"P{i}/1.0":0' for i in range(N)) + "}}",
            "more than 100000",
        ),
    }
    for rel, (content, _kind) in bad.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    return {rel: kind for rel, (_c, kind) in bad.items()}


GOOD: dict[str, str | dict[str, Any] | list[Any]] = {
    "good/node_modules/left-pad/package.json": {"name": "left-pad", "version": "1.3.0"},
    # wrong types and deep junk inside a field: no package from it, and no error
    "good/node_modules/typed/package.json": {"name": 5, "version": ["1"]},
    "good/node_modules/deep/package.json": '{"name": "deep", "version": "2.0.0", "x": '
    + "[" * 100_000
    + "]" * 100_000
    + "}",
    "good/node_modules/huge/package.json": {"name": "h" * 1_000_000, "version": "1.0.0"},
    "good/app/package-lock.json": {
        "lockfileVersion": 3,
        "packages": {"node_modules/minimist": {"version": "1.2.5"}},
    },
    "good/rb/specifications/rack-2.2.4.gemspec": (
        'Gem::Specification.new do |s|\n  s.name = "rack"\n  s.version = "2.2.4"\nend\n'
    ),
    "good/php/composer.lock": {"packages": [{"name": "monolog/monolog", "version": "2.9.1"}, 7, "x"]},
    "good/dn/App.deps.json": {"libraries": {"Newtonsoft.Json/13.0.1": {"type": "package"}, "X/2.0": 5}},
}


def test_hostile_input(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    expected_warnings = _hostile_tree(root)
    for rel, content in GOOD.items():
        _write(root, rel, content)
    # In a child process, to measure its peak memory alone.
    code = (
        "import hullscan, json, resource, sys, time; t = time.monotonic();"
        "inv = hullscan.inventory(sys.argv[1], use_cache=False);"
        "print(json.dumps({'w': list(inv.warnings), 'p': [[p.kind, p.name, p.version] for p in inv.packages],"
        "'s': time.monotonic() - t, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))"
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code, f"dir:{root}"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    out = json.loads(proc.stdout)
    elapsed = time.monotonic() - t0
    packages = {tuple(p) for p in out["p"]}
    assert packages == {
        ("npm", "left-pad", "1.3.0"),
        ("npm", "deep", "2.0.0"),
        ("npm", "minimist", "1.2.5"),
        ("gem", "rack", "2.2.4"),
        ("php-composer", "monolog/monolog", "2.9.1"),
        ("dotnet", "Newtonsoft.Json", "13.0.1"),
        ("dotnet", "X", "2.0"),
    }
    warnings: list[str] = out["w"]
    for rel, kind in expected_warnings.items():
        mine = [w for w in warnings if f" {rel}: " in w]
        assert len(mine) == 1, (rel, warnings)
        assert kind in mine[0], (rel, mine[0])
    assert len(warnings) == len(expected_warnings), warnings
    # Bounded work and memory: each 1e6-entry file stops at the package cap. Measured on the
    # development machine: about 1 s and 200 MB peak for ~90 MB of hostile files.
    print(f"hostile tree: {out['s']:.2f} s in hullscan, peak RSS {out['rss'] / 1024:.0f} MB")
    assert out["s"] < 20
    assert out["rss"] < 1024 * 1024  # KiB
    assert elapsed < 60
