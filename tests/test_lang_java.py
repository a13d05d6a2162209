"""Java archives (jar, war, ear, hpi, ...) and pom.xml: the packages each declares, read here
independently with Python's zipfile; nested and shaded archives built from Debian's real jars;
parity with syft 1.18.1; matching against the Maven advisories; hostile archives."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hullscan
from conftest import DATA, require_tool
from imagebuild import oci_from_rootfs

COVERAGE = "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage"
GUAVA = "osv-scalibr/extractor/filesystem/language/java/archive/testdata/guava-31.1-jre.jar"
MAVEN_ZIP = DATA / "advisories/osv/Maven/all.zip"
DEBIAN_JAVA = Path("/usr/share/java")
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".lpkg")

Row = tuple[str, str, str, str]  # (groupId, artifactId, version, location)


# ---------------------------------------------------------------------------------------------
# An independent reading of what archives declare: every pom.properties with coordinates, in the
# archive itself and in every archive nested in it (recursively), at `outer:inner` locations.


def _props(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def declared(data: bytes, location: str) -> Iterator[Row]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if info.filename.endswith("pom.properties"):
                p = _props(z.read(info).decode())
                if p.get("artifactId") and p.get("version"):
                    yield (p.get("groupId", ""), p["artifactId"], p["version"], location)
            elif info.filename.endswith(ARCHIVE_SUFFIXES):
                yield from declared(z.read(info), f"{location}:{info.filename}")


def manifest_main(z: zipfile.ZipFile) -> dict[str, str] | None:
    """The main section of META-INF/MANIFEST.MF (continuation lines joined)."""
    if "META-INF/MANIFEST.MF" not in z.namelist():
        return None
    text = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace").replace("\r\n", "\n")
    text = re.sub(r"\n ", "", text)
    main = text.split("\n\n", 1)[0]
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in main.splitlines() if ":" in ln)}


def rows(inv: hullscan.Inventory, prefix: str = "") -> set[Row]:
    return {
        (p.namespace or "", p.name, p.version, loc.removeprefix(prefix))
        for p in inv.packages
        if p.kind == "java-archive"
        for loc in p.locations
    }


# ---------------------------------------------------------------------------------------------
# syft


def syft_java(root: Path) -> list[dict[str, Any]]:
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    proc = subprocess.run(
        [require_tool("syft"), "scan", f"dir:{root}", "-o", "json", "-q"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return [
        a for a in json.loads(proc.stdout)["artifacts"] if a["type"] in ("java-archive", "jenkins-plugin")
    ]


def syft_name_versions(artifacts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    # syft writes `UNKNOWN` where no version is known; hullscan leaves the version empty (a Maven
    # comparator would order `UNKNOWN` below every release and match every advisory range).
    return {(a["name"], "" if a["version"] == "UNKNOWN" else a["version"]) for a in artifacts}


def name_versions(inv: hullscan.Inventory) -> set[tuple[str, str]]:
    return {(p.name, p.version) for p in inv.packages if p.kind == "java-archive"}


def agreement(a: set[tuple[str, str]], b: set[tuple[str, str]]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def coverage(edge_fixtures: Path) -> Path:
    return edge_fixtures / COVERAGE


@pytest.fixture(scope="session")
def guava(edge_fixtures: Path) -> Path:
    return edge_fixtures / GUAVA


@pytest.fixture(scope="session")
def debian_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rootfs with a copy of each of Debian's real jars in /usr/share/java (libmaven3-core-java
    and openjdk-17 are installed by scripts/install-deps), once each, under its versioned name
    where Debian has one (`commons-io-2.11.0.jar -> commons-io.jar`)."""
    chosen: dict[Path, str] = {}
    for p in sorted(DEBIAN_JAVA.glob("*.jar")):
        real = p.resolve()
        name = chosen.get(real)
        if name is None or (not re.search(r"-\d", name) and re.search(r"-\d", p.name)):
            chosen[real] = p.name
    if len(chosen) < 40:
        pytest.fail(f"expected Debian's jars in {DEBIAN_JAVA} (scripts/install-deps installs them)")
    root = tmp_path_factory.mktemp("debian-java")
    dest = root / "usr/share/java"
    dest.mkdir(parents=True)
    for real, name in chosen.items():
        shutil.copy(real, dest / name)
    return root


@pytest.fixture(scope="session")
def debian_jars(debian_root: Path) -> list[Path]:
    return sorted((debian_root / "usr/share/java").iterdir())


def _zip(members: dict[str, bytes], stored: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data, zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED)
    return buf.getvalue()


MF = b"Manifest-Version: 1.0\r\nCreated-By: hullscan tests\r\n"


@pytest.fixture(scope="session")
def app_tree(debian_jars: list[Path], guava: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rootfs with an ear holding a war (WEB-INF/lib: real Debian jars and guava, one stored as
    Spring Boot stores them), a Spring-Boot-style jar (BOOT-INF/lib), and a shaded jar bundling the
    classes and Maven metadata of three real jars (as the maven-shade-plugin writes it)."""
    root = tmp_path_factory.mktemp("java-apps")
    by_name = {p.name: p for p in debian_jars}
    libs = {
        f"WEB-INF/lib/{n}": by_name[n].read_bytes()
        for n in ("commons-io-2.11.0.jar", "commons-lang3-3.12.0.jar")
    }
    libs["WEB-INF/lib/guava-31.1-jre.jar"] = guava.read_bytes()
    war = _zip(
        {"META-INF/MANIFEST.MF": MF, "WEB-INF/web.xml": b"<web-app/>", **libs},
        stored=("WEB-INF/lib/guava-31.1-jre.jar",),
    )
    cli = by_name["commons-cli-1.5.0.jar"].read_bytes()
    ear = _zip({"META-INF/MANIFEST.MF": MF, "shop-web-2.0.war": war, "lib/commons-cli-1.5.0.jar": cli})
    (root / "srv").mkdir()
    (root / "srv/shop-2.0.ear").write_bytes(ear)
    boot = _zip(
        {
            "META-INF/MANIFEST.MF": MF + b"Main-Class: org.springframework.boot.loader.JarLauncher\r\n",
            "BOOT-INF/lib/commons-io-2.11.0.jar": by_name["commons-io-2.11.0.jar"].read_bytes(),
            "BOOT-INF/lib/jansi-2.4.0.jar": by_name["jansi-2.4.0.jar"].read_bytes(),
        },
        stored=("BOOT-INF/lib/commons-io-2.11.0.jar", "BOOT-INF/lib/jansi-2.4.0.jar"),
    )
    (root / "app").mkdir()
    (root / "app/service-1.4.jar").write_bytes(boot)
    shaded: dict[str, bytes] = {"META-INF/MANIFEST.MF": MF}
    for n in ("commons-io-2.11.0.jar", "commons-cli-1.5.0.jar", "commons-lang3-3.12.0.jar"):
        with zipfile.ZipFile(by_name[n]) as z:
            for info in z.infolist():
                if info.filename.startswith("META-INF/maven/") or info.filename.endswith(".class"):
                    shaded.setdefault(info.filename, z.read(info))
    shaded["META-INF/maven/org.acme/uber/pom.properties"] = (
        b"groupId=org.acme\nartifactId=uber\nversion=3.1\n"
    )
    (root / "app/uber-3.1.jar").write_bytes(_zip(shaded))
    return root


# ---------------------------------------------------------------------------------------------
# What archives declare


def test_fixture_archives_declare_their_packages(coverage: Path, guava: Path, tmp_path: Path) -> None:
    """syft's example jar (bundling joda-time 2.9.2), its Jenkins plugin (with its own jar in
    WEB-INF/lib) and osv-scalibr's guava: exactly the pom.properties coordinates of each archive and
    of the archives nested in it, at `archive:inner` locations."""
    root = tmp_path / "rootfs"
    (root / "opt/lib").mkdir(parents=True)
    for src in (
        coverage / "pkgs/java/example-java-app-maven-0.1.0.jar",
        coverage / "pkgs/java/example-jenkins-plugin.hpi",
        guava,
    ):
        shutil.copy(src, root / "opt/lib" / src.name)
    expected: set[Row] = set()
    for f in sorted((root / "opt/lib").iterdir()):
        expected |= set(declared(f.read_bytes(), f"/opt/lib/{f.name}"))
    inv = hullscan.inventory(f"dir:{root}")
    assert rows(inv) == expected
    assert ("joda-time", "joda-time", "2.9.2", "/opt/lib/example-java-app-maven-0.1.0.jar") in expected
    assert (
        "io.jenkins.plugins",
        "example-jenkins-plugin",
        "1.0-SNAPSHOT",
        "/opt/lib/example-jenkins-plugin.hpi:WEB-INF/lib/example-jenkins-plugin.jar",
    ) in expected
    assert ("com.google.guava", "guava", "31.1-jre", "/opt/lib/guava-31.1-jre.jar") in expected
    by_name = {p.name: p for p in inv.packages}
    assert by_name["guava"].purl == "pkg:maven/com.google.guava/guava@31.1-jre"
    assert by_name["guava"].ecosystem == "Maven"
    assert not inv.warnings


def test_pom_xml_declares_project_and_dependencies(coverage: Path) -> None:
    """pkgs/java/pom.xml: the project and its declared dependencies (every scope), read here with
    ElementTree."""
    import xml.etree.ElementTree as ET

    pom = coverage / "pkgs/java/pom.xml"
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    tree = ET.parse(pom).getroot()
    expected = {
        (
            tree.findtext("m:groupId", "", ns),
            tree.findtext("m:artifactId", "", ns),
            tree.findtext("m:version", "", ns),
        )
    }
    for d in tree.findall("m:dependencies/m:dependency", ns):
        expected.add(
            (
                d.findtext("m:groupId", "", ns),
                d.findtext("m:artifactId", "", ns),
                d.findtext("m:version", "", ns),
            )
        )
    assert len(expected) == 3
    inv = hullscan.inventory(f"dir:{pom.parent}")
    found = {(g, n, v) for g, n, v, loc in rows(inv) if loc == "/pom.xml"}
    assert found == expected


def test_debian_jars(debian_root: Path, debian_jars: list[Path]) -> None:
    """Debian's jars in /usr/share/java: every pom.properties coordinate is a package at its jar; a
    jar without pom.properties is one package named from its file and versioned from its file name
    or manifest; the shaded wagon-http jar lists its five bundled artifacts."""
    inv = hullscan.inventory(f"dir:{debian_root}")
    found = rows(inv)
    assert not inv.warnings
    for jar in debian_jars:
        loc = f"/usr/share/java/{jar.name}"
        at = {r for r in found if r[3] == loc}
        pom = set(declared(jar.read_bytes(), loc))
        with zipfile.ZipFile(jar) as z:
            main = manifest_main(z)
        assert main is not None, jar
        if pom:
            assert pom <= at, jar
            # At most the archive's own package besides them, when none of them is its own.
            assert len(at - pom) <= 1, (jar, at - pom)
        else:
            assert len(at) == 1, (jar, at)
            (_, name, version, _) = next(iter(at))
            stem = jar.name.removesuffix(".jar")
            m = re.match(r"^(.*?)-(\d.*)$", stem)
            file_version = m.group(2) if m else ""
            assert version in (
                file_version,
                main.get("Implementation-Version", ""),
                main.get("Bundle-Version", ""),
            ), jar
            # Empty only when nothing gives one (gettext.jar; syft writes UNKNOWN).
            versions = ("Implementation-Version", "Specification-Version", "Bundle-Version")
            assert version or not (file_version or any(main.get(k) for k in versions)), jar
            assert name in stem or name == main.get("Bundle-SymbolicName", "").split(".")[-1], jar
    shaded = {(g, n, v) for g, n, v, loc in found if loc.endswith("/wagon-http-shaded-3.5.3.jar")}
    assert {n for _, n, _ in shaded} >= {
        "commons-codec",
        "httpclient",
        "httpcore",
        "wagon-http",
        "wagon-http-shared",
    }


def test_nested_and_shaded_archives(app_tree: Path) -> None:
    """ear -> war -> WEB-INF/lib jars (deflated and stored), ear lib/, Spring Boot BOOT-INF/lib, a
    shaded jar: every bundled artifact at its nested location, computed here from the real jars."""
    expected: set[Row] = set()
    for f in sorted(app_tree.rglob("*")):
        if f.is_file():
            expected |= set(declared(f.read_bytes(), "/" + str(f.relative_to(app_tree))))
    inv = hullscan.inventory(f"dir:{app_tree}")
    found = rows(inv)
    assert expected <= found
    assert (
        "com.google.guava",
        "guava",
        "31.1-jre",
        "/srv/shop-2.0.ear:shop-web-2.0.war:WEB-INF/lib/guava-31.1-jre.jar",
    ) in found
    assert (
        "commons-io",
        "commons-io",
        "2.11.0",
        "/app/service-1.4.jar:BOOT-INF/lib/commons-io-2.11.0.jar",
    ) in found
    # The shaded jar: its own coordinates merge with its own pom.properties; the three bundled
    # artifacts are packages of their own.
    uber = {(g, n, v) for g, n, v, loc in found if loc == "/app/uber-3.1.jar"}
    assert uber == {(g, n, v) for g, n, v, loc in expected if loc == "/app/uber-3.1.jar"}
    assert len(uber) == 4
    # Archives without pom.properties of their own (the ear, the war, the boot jar) are packages
    # named from their file names.
    extra = {(n, v, loc) for _, n, v, loc in found - expected}
    assert extra == {
        ("shop", "2.0", "/srv/shop-2.0.ear"),
        ("shop-web", "2.0", "/srv/shop-2.0.ear:shop-web-2.0.war"),
        ("service", "1.4", "/app/service-1.4.jar"),
    }
    assert not inv.warnings
    # The same tree through a real image layer (umoci): the same packages.
    layout = app_tree.parent / (app_tree.name + "-layout")
    require_tool("umoci")
    oci_from_rootfs(app_tree, layout, "apps")
    img = hullscan.inventory(f"oci-dir:{layout}:apps")
    assert rows(img) == found


# ---------------------------------------------------------------------------------------------
# syft parity


def test_coverage_tree_agrees_with_syft(coverage: Path) -> None:
    """syft's image-pkg-coverage tree: the same Java name+version set (the jar, the plugin and its
    nested jar, the bundled joda-time, the pom.xml project and dependencies)."""
    expected = syft_name_versions(syft_java(coverage))
    found = name_versions(hullscan.inventory(f"dir:{coverage}"))
    assert len(expected) >= 4
    assert found == expected


def test_debian_and_nested_trees_agree_with_syft(debian_root: Path, app_tree: Path, tmp_path: Path) -> None:
    """Real jars and the built ear/war/shaded jars: >= 95 % agreement on name+version. The
    differences, each explained:
    - syft gives a jar without MANIFEST.MF no package at all, not even its pom.properties ones;
      hullscan still lists those (none of these jars lacks a manifest, so no difference here).
    - versions syft writes `UNKNOWN` are empty here (mapped above)."""
    root = tmp_path / "rootfs"
    shutil.copytree(debian_root, root)
    shutil.copytree(app_tree, root / "apps")
    expected = syft_name_versions(syft_java(root))
    found = name_versions(hullscan.inventory(f"dir:{root}"))
    assert len(expected) > 80
    assert agreement(found, expected) >= 0.95, (sorted(expected - found), sorted(found - expected))
    # In fact they agree exactly on this tree.
    assert found == expected


# ---------------------------------------------------------------------------------------------
# Matching


def maven_key(v: str) -> tuple[tuple[int, ...], int, str]:
    """Adequate for the versions here (`31.1-jre`, `32.0.0`, `29.0`, `1.0`, `4.13.1`,
    `2.12.6.1`, `5.2.20.RELEASE`, `4.1.108.Final`, ...): the leading numbers compared as numbers
    (trailing zeros dropped, as Maven does), then a qualifier: pre-releases below the release,
    anything else (`jre`, `Final`, `RELEASE`...) at or above it."""
    m = re.match(r"^(\d+(?:\.\d+)*)(?:[-.]?(.*))?$", v)
    assert m, v
    nums = [int(x) for x in m.group(1).split(".")]
    while len(nums) > 1 and nums[-1] == 0:
        nums.pop()
    q = (m.group(2) or "").lower()
    if q in ("", "final", "release", "ga"):
        rank = 0
    elif re.match(r"^(alpha|beta|milestone|rc|cr|snapshot|a|b|m)\d*", q):
        rank = -1
    else:
        rank = 1
    return (tuple(nums), rank, q if rank else "")


def affected(record: dict[str, Any], name: str, version: str) -> bool:
    v = maven_key(version)
    for a in record.get("affected", []):
        pkg = a.get("package", {})
        if pkg.get("ecosystem") != "Maven" or pkg.get("name") != name:
            continue
        if version in a.get("versions", []):
            return True
        for r in a.get("ranges", []):
            if r.get("type") != "ECOSYSTEM":
                continue
            inside = False
            for e in r["events"]:  # in order in these records
                if "introduced" in e and (e["introduced"] == "0" or v >= maven_key(e["introduced"])):
                    inside = True
                elif ("fixed" in e and v >= maven_key(e["fixed"])) or (
                    "last_affected" in e and v > maven_key(e["last_affected"])
                ):
                    inside = False
            if inside:
                return True
    return False


def expected_ids(packages: set[tuple[str, str]]) -> set[tuple[str, str]]:
    out = set()
    with zipfile.ZipFile(MAVEN_ZIP) as z:
        for member in z.namelist():
            rec = json.loads(z.read(member))
            if rec.get("withdrawn"):
                continue
            for name, version in packages:
                if affected(rec, name, version):
                    out.add((name, rec["id"]))
    return out


def test_guava_matches_maven_advisories(guava: Path, tmp_path: Path, isolated_cache: Path) -> None:
    """guava 31.1-jre, top-level and nested in a war, and a version-less jar: exactly the findings
    the Maven OSV records imply (computed here), GHSA-7g45-4rm6-3mm3 among them; a package without
    a version is not compared (no false positive from ranges starting at 0)."""
    from hullscan import db

    root = tmp_path / "rootfs"
    (root / "opt/app/lib").mkdir(parents=True)
    shutil.copy(guava, root / "opt/app/lib" / guava.name)
    (root / "opt/web.war").write_bytes(
        _zip({"META-INF/MANIFEST.MF": MF, "WEB-INF/lib/guava-31.1-jre.jar": guava.read_bytes()})
    )
    (root / "opt/app/lib/junit.jar").write_bytes(_zip({"META-INF/MANIFEST.MF": MF}))
    db.import_paths([MAVEN_ZIP])
    result = hullscan.scan(f"dir:{root}", offline=True)
    java = {(f"{p.namespace}:{p.name}", p.version) for p in result.packages if p.kind == "java-archive"}
    assert ("com.google.guava:guava", "31.1-jre") in java
    assert ("junit:junit", "") in java
    expected = expected_ids({pv for pv in java if pv[1]})
    assert ("com.google.guava:guava", "GHSA-7g45-4rm6-3mm3") in expected
    # Each finding lists the advisory records that reported it (aliases are one finding).
    found = {
        (f"{f.package.purl.split('/')[1]}:{f.package.name}", rec)
        for f in result.findings
        for rec in f.advisories
    }
    assert found == expected
    # Both guava packages (the jar and the one in the war) have the finding, at their locations.
    locs = {
        loc
        for f in result.findings
        if "GHSA-7g45-4rm6-3mm3" in f.advisories
        for loc in f.explanation.locations
    }
    assert locs == {"/opt/app/lib/guava-31.1-jre.jar", "/opt/web.war:WEB-INF/lib/guava-31.1-jre.jar"}
    assert any("junit" in w and "not compared" in w for w in result.warnings), result.warnings


# ---------------------------------------------------------------------------------------------
# Hostile archives


def many_entries_jar(n: int, tail: list[tuple[bytes, bytes]]) -> bytes:
    """A zip64 archive of `n` empty stored members (names %07d) followed by `tail` stored members,
    written with struct (zipfile would take minutes for a million members)."""
    names = [b"%07d" % i for i in range(n)]
    local_header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, 7, 0)
    out = bytearray(local_header.join([b"", *names]))
    cd_prefix = struct.pack("<IHHHHHHIIIHHHHHI", 0x02014B50, 20, 45, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0)
    cd = bytearray(b"".join([cd_prefix + struct.pack("<I", i * 37) + nm for i, nm in enumerate(names)]))
    for name, data in tail:
        off, crc = len(out), zlib.crc32(data)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(data), len(data), len(name), 0
        )
        out += name + data
        cd += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            45,
            0,
            0,
            0,
            0,
            crc,
            len(data),
            len(data),
            len(name),
            0,
            0,
            0,
            0,
            0,
            off,
        )
        cd += name
    total, cd_off = n + len(tail), len(out)
    out += cd
    end64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, total, total, len(cd), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(cd), cd_off, 0)
    return bytes(out)


def deflated_zeros(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MiB) and its CRC-32, without
    compressing `size` bytes: after a full flush the compressor's state is reset, so every further
    MiB of zeros encodes to the same block."""
    chunk = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH) == block
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(chunk, crc)
    return block * (size >> 20) + c.flush(), crc


def raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of (name, stored body, method, crc, declared uncompressed size) members, written as
    given: for members whose declared size is a lie, or too big to pass through zipfile."""
    out, cd = bytearray(), bytearray()
    for name, body, method, crc, usize in members:
        n = name.encode()
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(body), usize, len(n), 0)
        out += n + body
        cd += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            method,
            0,
            0,
            crc,
            len(body),
            usize,
            len(n),
            0,
            0,
            0,
            0,
            0,
            off,
        )
        cd += n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd), len(out), 0)
    return bytes(out + cd + end)


def manifest_member() -> tuple[str, bytes, int, int, int]:
    return ("META-INF/MANIFEST.MF", MF, 0, zlib.crc32(MF), len(MF))


@pytest.fixture(scope="session")
def hostile_tree(debian_jars: list[Path], guava: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("java-hostile")
    lib = root / "opt/lib"
    lib.mkdir(parents=True)
    shutil.copy(guava, lib / guava.name)  # the good one
    real = next(p for p in debian_jars if p.name == "commons-io-2.11.0.jar").read_bytes()
    # A nested jar that inflates to 1 GiB of zeros from ~1 MB (honest sizes): over the budget.
    body, crc = deflated_zeros(1 << 30)
    (lib / "bomb-1.0.jar").write_bytes(
        raw_zip([manifest_member(), ("lib/zeros-1.0.jar", body, 8, crc, 1 << 30)])
    )
    # 64 MiB of zeros declaring 1 KiB (a lying size): inflating stops at 1 KiB + 1.
    body, crc = deflated_zeros(64 << 20)
    (lib / "liar-1.0.jar").write_bytes(
        raw_zip([manifest_member(), ("lib/liar-inner-1.0.jar", body, 8, crc, 1024)])
    )
    # A manifest that inflates to 64 MiB: over the metadata limit.
    (lib / "bigmeta-1.0.jar").write_bytes(raw_zip([("META-INF/MANIFEST.MF", body, 8, crc, 64 << 20)]))
    # 50 nested levels.
    nested = _zip({"META-INF/MANIFEST.MF": MF})
    for i in range(50):
        nested = _zip({"META-INF/MANIFEST.MF": MF, f"lib/level{i}-1.0.jar": nested})
    (lib / "deep-1.0.jar").write_bytes(nested)
    # Truncated: half of a real jar.
    (lib / "truncated-1.0.jar").write_bytes(real[: len(real) // 2])
    # A central directory that lies: about the directory's offset, and about a member's size.
    eocd = real.rindex(b"PK\x05\x06")
    lie = bytearray(real)
    lie[eocd + 16 : eocd + 20] = struct.pack("<I", 0x7FFF0000)
    (lib / "lying-offset-1.0.jar").write_bytes(bytes(lie))
    lie = bytearray(real)
    cd_off = struct.unpack("<I", real[eocd + 16 : eocd + 20])[0]
    at = real.index(b"META-INF/MANIFEST.MF", cd_off) - 46
    assert real[at : at + 4] == b"PK\x01\x02"
    lie[at + 20 : at + 24] = struct.pack("<I", 0x7FFFFFFF)  # compressed size past the end
    (lib / "lying-size-2.0.jar").write_bytes(bytes(lie))
    # A million tiny members, then the metadata.
    tail = [
        (b"META-INF/MANIFEST.MF", MF),
        (b"META-INF/maven/org.many/many/pom.properties", b"groupId=org.many\nartifactId=many\nversion=1.0\n"),
    ]
    (lib / "many-1.0.jar").write_bytes(many_entries_jar(1_000_000, tail))
    # Not a zip at all.
    (lib / "notzip-1.0.jar").write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    (lib / "empty.jar").write_bytes(b"")
    # And a pom.xml that never ends.
    (root / "opt/pom.xml").write_text("<project><artifactId>x</artifactId><dependencies>")
    return root


def test_many_entries_generator_writes_valid_zip64() -> None:
    """The generator's format, checked with zipfile on a size it reads quickly (> 65535 members
    needs the zip64 records)."""
    data = many_entries_jar(70_000, [(b"a/b.txt", b"hello")])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert len(z.infolist()) == 70_001
        assert z.read("a/b.txt") == b"hello"
        assert z.testzip() is None


def test_hostile_archives_warn_and_the_rest_is_inventoried(hostile_tree: Path) -> None:
    inv = hullscan.inventory(f"dir:{hostile_tree}")
    found = {(n, v, loc) for _, n, v, loc in rows(inv)}
    w = "\n".join(inv.warnings)
    # The good jar, and what each hostile one still yields.
    assert ("guava", "31.1-jre", "/opt/lib/guava-31.1-jre.jar") in found
    assert ("many", "1.0", "/opt/lib/many-1.0.jar") in found  # all million entries walked
    assert ("bomb", "1.0", "/opt/lib/bomb-1.0.jar") in found
    assert ("liar", "1.0", "/opt/lib/liar-1.0.jar") in found
    assert ("deep", "1.0", "/opt/lib/deep-1.0.jar") in found
    # A jar whose manifest entry lies about its size: the manifest is not read, its pom.properties
    # still are.
    assert ("commons-io", "2.11.0", "/opt/lib/lying-size-2.0.jar") in found
    # 4 nested levels below the top are read, the fifth is reported.
    deep = sorted(loc for n, v, loc in found if loc.startswith("/opt/lib/deep-1.0.jar"))
    assert len(deep) == 5
    chain = ":".join(f"lib/level{i}-1.0.jar" for i in range(49, 44, -1))
    assert f"opt/lib/deep-1.0.jar: java cataloger: {chain}: limit: nested more than 4 archives deep" in w
    bomb = "opt/lib/bomb-1.0.jar: java cataloger: lib/zeros-1.0.jar: limit: "
    assert f"{bomb}nested archives would hold more than {256 << 20} inflated bytes at once" in w
    assert re.search(
        r"liar-1.0.jar: java cataloger: lib/liar-inner-1.0.jar: corrupt zip archive: "
        r"member .* declares 1024 bytes but inflates to more",
        w,
    )
    assert (
        'bigmeta-1.0.jar: java cataloger: zip member "META-INF/MANIFEST.MF" inflates past 4194304 bytes' in w
    )
    assert "truncated-1.0.jar: java cataloger: not a zip archive" in w
    assert "lying-offset-1.0.jar: java cataloger: corrupt zip archive: central directory offset" in w
    assert re.search(
        r"lying-size-2.0.jar: java cataloger: corrupt zip archive: "
        r"member \"META-INF/MANIFEST.MF\" extends past the end",
        w,
    )
    assert "notzip-1.0.jar: java cataloger: not a zip archive" in w
    assert "empty.jar: java cataloger: not a zip archive" in w
    assert "opt/pom.xml: java cataloger: not a readable pom.xml" in w
    # Every package found is one of the above: nothing from the broken ones.
    assert {loc.split(":")[0] for _, _, loc in found} == {
        f"/opt/lib/{n}"
        for n in (
            "guava-31.1-jre.jar",
            "many-1.0.jar",
            "bomb-1.0.jar",
            "liar-1.0.jar",
            "deep-1.0.jar",
            "lying-size-2.0.jar",
        )
    }


def test_hostile_archives_in_an_image_layer(hostile_tree: Path, tmp_path: Path) -> None:
    """The same through a real OCI layer (the smaller hostile files; the million-member jar is
    covered above): warnings, and the rest of the layer inventoried."""
    root = tmp_path / "rootfs"
    shutil.copytree(hostile_tree, root, ignore=shutil.ignore_patterns("many-1.0.jar"))
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    require_tool("umoci")
    oci_from_rootfs(root, tmp_path / "layout", "bad")
    inv = hullscan.inventory(f"oci-dir:{tmp_path / 'layout'}:bad")
    assert inv.distro is not None
    assert inv.distro.ecosystem == "Debian:12"
    found = {(n, v) for _, n, v, _ in rows(inv)}
    assert ("guava", "31.1-jre") in found
    assert any("not a zip archive" in x for x in inv.warnings)
    assert any(
        "limit: nested archives would hold more than 268435456 inflated bytes at once" in x
        for x in inv.warnings
    )
