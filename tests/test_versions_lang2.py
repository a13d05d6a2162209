"""The Maven, NuGet and Composer version schemes against independent oracles.

- Maven: the real ``ComparableVersion`` of the maven-artifact jar installed on this machine, run
  once per session in one JVM (a tiny program compiled here with javac reads pairs from stdin),
  and a Python transliteration of the current upstream ``ComparableVersion`` written below. The
  Debian jar is Maven 3.8.7, older than the 3.9/4.x ordering hullscan implements (and the upstream
  vectors test): 3.8.7 differs on ``.X`` qualifiers, ``X-1`` combinations, a zero before ``-N``
  and non-ASCII digits. So the JVM pairs come from a grammar of everyday versions on which the two
  Maven generations agree, and the full grammar (odd separators, qualifiers everywhere, non-ASCII
  letters and digits) is checked against the transliteration.
- NuGet and Composer: there is no dotnet or php here, so Python transliterations of
  NuGet.Versioning (``NuGetVersion.TryParse``, ``VersionComparer``, ``VersionRange``,
  ``FloatRange``) and composer/semver (``VersionParser``, PHP's ``version_compare``,
  ``Semver::satisfies``) written below are the oracles.

Each differential check runs at least 100,000 pairs (every Maven version of the OSV advisories is in
the Maven pairs) and allows no disagreement; hullscan's deliberate differences are applied to the
oracles' answers explicitly and named where they are.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import random
import re
import subprocess
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import require_tool
from hullscan import _core, versions
from hullscan.errors import InvalidVersionError

PAIRS = 100_000


class InvalidError(Exception):
    """The oracle's native implementation rejects (throws on) the input."""


class RejectedError(InvalidError):
    """Native accepts the input but hullscan deliberately rejects it (the reason is the message)."""


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def hullscan_many(scheme: str, pairs: list[tuple[str, str]]) -> list[int | None]:
    return _core.version_compare_many(scheme, pairs)


def assert_agree(
    scheme: str, pairs: list[tuple[str, str]], oracle: Callable[[str, str], int | None], *, min_valid: int
) -> None:
    """hullscan's comparison equals the oracle's on every pair (None: either is not a version)."""
    got = hullscan_many(scheme, pairs)
    bad = []
    valid = 0
    for (a, b), g in zip(pairs, got, strict=True):
        want = oracle(a, b)
        if want is not None:
            valid += 1
        if want == "unordered":
            if g is None or g == 0:
                bad.append((a, b, "unordered (different branches)", g))
        elif g != want:
            bad.append((a, b, want, g))
    assert not bad, f"{len(bad)} of {len(pairs)} pairs disagree, e.g. (a, b, oracle, hullscan): {bad[:10]}"
    assert valid >= min_valid, f"only {valid} valid pairs"


# ---------------------------------------------------------------------------------------------
# Maven: ComparableVersion transliterated (current upstream: combination items, ".X" read as
# "-X", ASCII-only numbers, normalisation keeping a zero before a numeric sub-list).

MVN_QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"]
MVN_RELEASE = ("ga", "final", "release")


def java_is_digit(ch: str) -> bool:
    """Character.isDigit on a char: category Nd, BMP only (a supplementary char is two chars)."""
    return ord(ch) <= 0xFFFF and unicodedata.category(ch) == "Nd"


def mvn_comparable_qualifier(q: str) -> str:
    if q in MVN_RELEASE:
        return str(MVN_QUALIFIERS.index(""))
    if q in MVN_QUALIFIERS:
        return str(MVN_QUALIFIERS.index(q))
    return f"{len(MVN_QUALIFIERS)}-{q}"


def java_string_cmp(a: str, b: str) -> int:
    """String.compareTo: UTF-16 code units."""
    ea, eb = a.encode("utf-16-be"), b.encode("utf-16-be")
    return (ea > eb) - (ea < eb)


class MNum:
    kind = "num"

    def __init__(self, value: int) -> None:
        self.value = value

    def is_null(self) -> bool:
        return self.value == 0


class MStr:
    kind = "str"

    def __init__(self, value: str, followed_by_digit: bool) -> None:
        if followed_by_digit and len(value) == 1:
            value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
        self.value = "rc" if value == "cr" else value

    def is_null(self) -> bool:
        return self.value == ""


class MComb:
    kind = "comb"

    def __init__(self, text: str) -> None:
        index = next((i for i, ch in enumerate(text) if java_is_digit(ch)), 0)
        self.string = MStr(text[:index], True)
        digits = text[index:]
        if not digits or not all(java_is_digit(ch) for ch in digits):
            raise InvalidError(f"Integer.parseInt({digits!r})")
        if not all("0" <= ch <= "9" for ch in digits):
            raise RejectedError(
                "a non-ASCII digit read as a number (Maven types it by length: not transitive)"
            )
        self.digits = mvn_number(digits)

    def is_null(self) -> bool:
        return False


class MList:
    kind = "list"

    def __init__(self) -> None:
        self.items: list = []

    def is_null(self) -> bool:
        return not self.items

    def normalize(self) -> None:
        items = self.items
        for i in range(len(items) - 1, -1, -1):
            if items[i].is_null():
                following = items[i + 1] if i + 1 < len(items) else None
                if following is None or following.kind == "str" or mvn_opens_with_text(following):
                    del items[i]
        if len(items) == 1 and items[0].kind == "list":
            self.items = items[0].items


def mvn_opens_with_text(item) -> bool:
    """A sub-list whose first item is a string or a combination."""
    return item.kind == "list" and item.items[0].kind in ("comb", "str")


def mvn_number(digits: str) -> MNum:
    stripped = digits.lstrip("0") or "0"
    if not all("0" <= ch <= "9" for ch in stripped):
        raise InvalidError(f"Integer.parseInt({digits!r})")
    return MNum(int(stripped))


def mvn_item(combination: bool, digit: bool, buf: str):
    if combination:
        return MComb(buf.replace("-", ""))
    if digit:
        return mvn_number(buf)
    return MStr(buf, False)


@functools.cache
def mvn_parse(version: str) -> MList | None:
    try:
        return _mvn_parse(version)
    except InvalidError:
        return None


@functools.cache
def mvn_rejection(version: str) -> str | None:
    try:
        _mvn_parse(version)
    except InvalidError as e:
        return f"{type(e).__name__}: {e}"
    return None


def _mvn_parse(version: str) -> MList:
    if version == "":
        raise RejectedError("the empty string (Maven reads it as 0)")
    if len(version.encode("utf-16-le")) // 2 > 256:
        raise InvalidError("longer than 256 chars")
    v = version.lower()
    root = lst = MList()
    stack = [lst]
    digit = combination = False
    start = 0
    i = 0
    n = len(v)

    def sub() -> MList:
        nonlocal lst
        new = MList()
        lst.items.append(new)
        lst = new
        stack.append(new)
        return new

    while i < n:
        c = v[i]
        if c == ".":
            lst.items.append(MNum(0) if i == start else mvn_item(combination, digit, v[start:i]))
            combination = False
            start = i + 1
        elif c == "-":
            if i == start:
                lst.items.append(MNum(0))
            else:
                if not digit and i != n - 1 and java_is_digit(v[i + 1]):
                    combination = True
                    i += 1
                    continue
                lst.items.append(mvn_item(combination, digit, v[start:i]))
            start = i + 1
            if lst.items:
                sub()
            combination = False
        elif "0" <= c <= "9":
            if not digit and i > start:
                combination = True
                if lst.items:
                    sub()
            digit = True
        else:
            if digit and i > start:
                if ord(c) > 0xFFFF:
                    raise InvalidError("Java hands a high surrogate to Integer.parseInt")
                lst.items.append(mvn_item(combination, True, v[start:i]))
                start = i
                sub()
                combination = False
            digit = False
        i += 1
    if n > start:
        if not digit and lst.items:
            sub()
        lst.items.append(mvn_item(combination, digit, v[start:]))
    while stack:
        stack.pop().normalize()
    return root


def mvn_cmp(a, b) -> int:
    """Item.compareTo; b may be None."""
    if a.kind == "num":
        if b is None:
            return 0 if a.value == 0 else 1
        return sign(a.value - b.value) if b.kind == "num" else 1
    if a.kind == "str":
        if b is None:
            return java_string_cmp(mvn_comparable_qualifier(a.value), "5")
        if b.kind == "num":
            return -1
        if b.kind == "str":
            return java_string_cmp(mvn_comparable_qualifier(a.value), mvn_comparable_qualifier(b.value))
        if b.kind == "comb":
            r = mvn_cmp(a, b.string)
            if r == 0:
                return -mvn_cmp(b.digits, None) if mvn_cmp(a, None) == 0 else -1
            return r
        return -mvn_cmp(b, a)
    if a.kind == "comb":
        if b is None:
            r = mvn_cmp(a.string, None)
            return mvn_cmp(a.digits, None) if r == 0 else r
        if b.kind == "num":
            return -1
        if b.kind == "str":
            r = mvn_cmp(a.string, b)
            if r == 0:
                return mvn_cmp(a.digits, None) if mvn_cmp(a.string, None) == 0 else 1
            return r
        if b.kind == "list":
            return -mvn_cmp(b, a)
        r = mvn_cmp(a.string, b.string)
        return mvn_cmp(a.digits, b.digits) if r == 0 else r
    # list
    if b is None:
        for item in a.items:
            r = mvn_cmp(item, None)
            if r:
                return r
        return 0
    if b.kind == "num":
        return -1
    if b.kind in ("str", "comb"):
        r = -mvn_cmp(b, None) if not a.items else mvn_cmp(a.items[0], b)
        for item in a.items[1:]:
            if r:
                break
            r = mvn_cmp(item, None)
        return r
    for k in range(max(len(a.items), len(b.items))):
        left = a.items[k] if k < len(a.items) else None
        right = b.items[k] if k < len(b.items) else None
        if left is None:  # the left list is shorter: the rest of the right one against "nothing"
            left, right, flip = right, None, -1
        else:
            flip = 1
        r = flip * mvn_cmp(left, right) if left is not None else 0
        if r:
            return r
    return 0


def maven_oracle(a: str, b: str) -> int | None:
    pa, pb = mvn_parse(a), mvn_parse(b)
    if pa is None or pb is None:
        return None
    return mvn_cmp(pa, pb)


def maven_range_oracle(version: str, spec: str) -> bool | None:
    """VersionRange.createFromVersionSpec(spec).containsVersion(version)."""
    v = mvn_parse(version)
    if v is None:
        return None

    def trim(s: str) -> str:
        return s.strip("".join(chr(c) for c in range(0x21)))

    def bound(s: str) -> MList:
        p = mvn_parse(s)
        if p is None:
            raise InvalidError(s)
        return p

    def restriction(s: str) -> tuple:
        low_inc, up_inc = s.startswith("["), s.endswith("]")
        inner = trim(s[1:-1])
        if "," not in inner:
            if not (low_inc and up_inc):
                raise InvalidError("single version must be in []")
            p = bound(inner)
            return (p, True, p, True)
        lo, hi = trim(inner[: inner.index(",")]), trim(inner[inner.index(",") + 1 :])
        lo_v = bound(lo) if lo else None
        hi_v = bound(hi) if hi else None
        if lo_v is not None and hi_v is not None:
            c = mvn_cmp(hi_v, lo_v)
            if c < 0 or (c == 0 and not (low_inc and up_inc)):
                raise InvalidError("range defies version ordering")
        return (lo_v, low_inc, hi_v, up_inc)

    try:
        restrictions = []
        process = spec
        upper = None
        while process.startswith(("[", "(")):
            closes = [i for i in (process.find(")"), process.find("]")) if i >= 0]
            if not closes:
                raise InvalidError("unbounded range")
            index = min(closes)
            r = restriction(process[: index + 1])
            if upper is not None and (r[0] is None or mvn_cmp(r[0], upper) < 0):
                raise InvalidError("ranges overlap")
            restrictions.append(r)
            upper = r[2]
            process = trim(process[index + 1 :])
            if process.startswith(","):
                process = trim(process[1:])
        if process:
            if restrictions:
                raise InvalidError("only fully-qualified sets allowed in multiple set scenario")
            bound(process)
            restrictions.append((None, False, None, False))
    except InvalidError:
        return None

    def contains(r: tuple) -> bool:
        lo, lo_inc, hi, hi_inc = r
        if lo is not None:
            c = mvn_cmp(lo, v)
            if (c == 0 and not lo_inc) or c > 0:
                return False
        if hi is not None:
            c = mvn_cmp(hi, v)
            if c == 0 and not hi_inc:
                return False
            return c >= 0
        return True

    return any(contains(r) for r in restrictions)


MVN_ATOMS = [
    "0",
    "1",
    "2",
    "00",
    "10",
    "007",
    "123",
    "999999999",
    "1000000000",
    "2147483648",
    "999999999999999999",
    "1000000000000000000",
    "12345678901234567890",
    "ga",
    "GA",
    "final",
    "Final",
    "release",
    "RELEASE",
    "sp",
    "SP",
    "a",
    "b",
    "m",
    "M",
    "alpha",
    "beta",
    "milestone",
    "rc",
    "RC",
    "cr",
    "CR",
    "snapshot",
    "SNAPSHOT",
    "x",
    "abc",
    "def",
    "redhat",
    "jre",
    "android",
    "pre",
    "dev",
    "v",
    "1a",
    "a1",
    "ga1",
    "sp0",
    "m0",
    "ga0",
    "rc1",
    "RC2",
    "alpha2snapshot",
    "é",
    "É",
    "ζέβρα",
    "٨",
    "a-٨",
    "\U0001d7e4",
    "_",
    "+",
    "~",
    "2019-01",
]
MVN_SEPS = [".", ".", "-", "-", "", "..", "--", ".-", "-."]


def maven_wild(r: random.Random) -> str:
    s = r.choice(MVN_ATOMS)
    for _ in range(r.randint(0, 7)):
        s += r.choice(MVN_SEPS) + r.choice(MVN_ATOMS)
    if r.random() < 0.02:
        s = s * (1 + 256 // max(1, len(s)))
        s = s[: r.choice([255, 256, 257, 300])]
    return s or "1"


def swap_case(r: random.Random, s: str) -> str:
    return "".join(c.swapcase() if r.random() < 0.3 else c for c in s)


def maven_respell(r: random.Random, v: str) -> str:
    """A spelling of `v` that Maven may well consider equal: zeros and release words added or
    dropped, separators swapped, case changed, aliases."""
    for _ in range(r.randint(1, 3)):
        k = r.randint(0, 7)
        if k == 0:
            v = v + r.choice([".0", "-0", ".0.0", "-ga", ".final", "-release", "-GA", ".0-final", "-0.0"])
        elif k == 1:
            v = swap_case(r, v)
        elif k == 2 and "-" in v:
            i = r.choice([i for i, c in enumerate(v) if c == "-"])
            v = v[:i] + r.choice([".", ""]) + v[i + 1 :]
        elif k == 3 and "." in v:
            i = r.choice([i for i, c in enumerate(v) if c == "."])
            v = v[:i] + r.choice(["-", ".0."]) + v[i + 1 :]
        elif k == 4:
            v = v.replace("rc", "cr") if r.random() < 0.5 else v.replace("alpha", "a").replace("beta", "b")
        elif k == 5:
            v = re.sub(r"\d+", lambda m: "0" * r.randint(0, 2) + m.group(0), v)
        elif k == 6:
            v = re.sub(r"(\.0)+$", "", v) or v
        else:
            v = v.replace("milestone", "m").replace("-ga", "")
    return v


MVN_EVERYDAY_QUALIFIERS = [
    "alpha",
    "beta",
    "rc",
    "RC",
    "cr",
    "CR",
    "milestone",
    "SNAPSHOT",
    "snapshot",
    "sp",
    "SP",
    "jre",
    "android",
    "redhat",
    "incubating",
    "pre",
    "dev",
    "preview",
    "beta-SNAPSHOT",
]
MVN_EVERYDAY_BARE = ["Final", "FINAL", "GA", "ga", "RELEASE", "release", "final", "M", "m", "a", "b"]


def _mvn_number(r: random.Random) -> str:
    x = r.random()
    if x < 0.7:
        return str(r.randint(0, 12))
    if x < 0.85:
        return str(r.randint(0, 300))
    if x < 0.9:
        return "0" + str(r.randint(0, 9))
    if x < 0.95:
        return str(r.randint(2000, 20250000))
    return r.choice(["2147483647", "2147483648", "9999999999", "123456789012345678901234"])


def _mvn_nonzero(r: random.Random) -> str:
    while True:
        n = _mvn_number(r)
        if n.strip("0"):
            return n


def maven_everyday(r: random.Random) -> str:
    """Versions as published: numbers, then a `-qualifier`, `-qualifierN`, `-qualifier-N`, `-N`,
    `.Final`-style suffix. Maven 3.8.7 and 3.9/4.x order these alike (a qualifier after a final zero,
    `X-N` for a single letter or a release word, and `.X` forms other than a final word differ)."""
    comps = [_mvn_number(r) for _ in range(r.randint(1, 4))]
    if r.random() < 0.35:
        return ".".join(comps)
    comps[-1] = _mvn_nonzero(r)
    s = ".".join(comps)
    q = r.choice(MVN_EVERYDAY_QUALIFIERS)
    form = r.randint(0, 7)
    if form == 0:
        return s + "-" + (r.choice(MVN_EVERYDAY_BARE) if r.random() < 0.4 else q)
    if form == 1:
        return s + "-" + q + _mvn_nonzero(r)
    if form == 2:
        return s + "-" + q + "-" + _mvn_nonzero(r)
    if form == 3:
        return s + "-" + q + _mvn_nonzero(r) + "-SNAPSHOT"
    if form == 4:
        return s + "-" + _mvn_nonzero(r)
    if form == 5:
        return s + "." + r.choice(["Final", "RELEASE", "GA", "SP1", "CR1", "v2023"])
    if form == 6:
        return s + "-" + q
    return s + "-" + _mvn_nonzero(r) + "-" + q


@pytest.fixture(scope="session")
def osv_maven_versions(data_dir: Path) -> list[str]:
    """Every version string of the Maven OSV advisories: events and affected[].versions."""
    found: set[str] = set()
    with zipfile.ZipFile(data_dir / "advisories" / "osv" / "Maven" / "all.zip") as z:
        for name in z.namelist():
            doc = json.loads(z.read(name))
            for affected in doc.get("affected", []):
                found.update(affected.get("versions") or [])
                for rng in affected.get("ranges") or []:
                    for event in rng.get("events", []):
                        found.update(v for k, v in event.items() if k != "limit" or v != "*")
    assert len(found) > 20
    return sorted(found)


JAVA_ORACLE = r"""
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenOracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            int tab = line.indexOf('\t');
            String r;
            try {
                ComparableVersion a = new ComparableVersion(line.substring(0, tab));
                ComparableVersion b = new ComparableVersion(line.substring(tab + 1));
                r = Integer.toString(Integer.signum(a.compareTo(b)));
            } catch (RuntimeException e) {
                r = "E";
            }
            out.append(r).append('\n');
        }
        System.out.print(out);
    }
}
"""

MAVEN_JARS = [
    "/usr/share/maven/lib/maven-artifact*.jar",
    "/usr/share/java/maven-artifact*.jar",
    "/usr/share/java/maven3-artifact*.jar",
    str(Path.home() / ".m2/repository/org/apache/maven/maven-artifact/*/maven-artifact-*.jar"),
]


@pytest.fixture(scope="session")
def maven_jvm(tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[tuple[str, str]]], list[str]]:
    """Compare pairs with the real ComparableVersion in one JVM run."""
    javac, java = require_tool("javac"), require_tool("java")
    jars = [j for pattern in MAVEN_JARS for j in sorted(Path("/").glob(pattern.lstrip("/")))]
    if not jars:
        pytest.fail(
            "no maven-artifact jar (Debian: libmaven3-core-java or maven, and openjdk-17-jdk-headless)"
        )
    jar = str(jars[0])
    work = tmp_path_factory.mktemp("maven-oracle")
    (work / "MavenOracle.java").write_text(JAVA_ORACLE)
    subprocess.run([javac, "-cp", jar, "-d", str(work), str(work / "MavenOracle.java")], check=True)

    def run(pairs: list[tuple[str, str]]) -> list[str]:
        for a, b in pairs:
            assert "\t" not in a + b
            assert "\n" not in a + b
        text = "".join(f"{a}\t{b}\n" for a, b in pairs)
        proc = subprocess.run(
            [java, "-cp", f"{jar}:{work}", "MavenOracle"],
            input=text.encode(),
            capture_output=True,
            check=True,
        )
        out = proc.stdout.decode().split()
        assert len(out) == len(pairs)
        return out

    return run


def test_maven_against_the_real_comparable_version(maven_jvm, osv_maven_versions: list[str]) -> None:
    r = random.Random(20240601)
    osv = osv_maven_versions
    pairs = [(a, b) for a in osv for b in osv]
    while len(pairs) < PAIRS + len(osv) ** 2:
        a = maven_everyday(r) if r.random() < 0.85 else r.choice(osv)
        b = maven_everyday(r) if r.random() < 0.85 else r.choice(osv)
        pairs.append((a, b))
    jvm = maven_jvm(pairs)
    got = hullscan_many("maven", pairs)
    bad = [(a, b, j, g) for (a, b), j, g in zip(pairs, jvm, got, strict=True) if j == "E" or int(j) != g]
    assert not bad, (
        f"{len(bad)} of {len(pairs)} disagree with maven-artifact (a, b, jvm, hullscan): {bad[:10]}"
    )


def test_maven_jvm_and_transliteration_agree(maven_jvm) -> None:
    """The transliteration reproduces the real jar on the everyday grammar (so the two oracles check
    each other where their Maven generations agree)."""
    r = random.Random(7)
    pairs = [(maven_everyday(r), maven_everyday(r)) for _ in range(20_000)]
    jvm = maven_jvm(pairs)
    bad = [(a, b, j) for (a, b), j in zip(pairs, jvm, strict=True) if int(j) != maven_oracle(a, b)]
    assert not bad, bad[:10]


def test_maven_against_the_transliteration(osv_maven_versions: list[str]) -> None:
    r = random.Random(99)
    pool = (
        [maven_wild(r) for _ in range(4000)] + [maven_everyday(r) for _ in range(1000)] + osv_maven_versions
    )
    pairs = [(v, r.choice(pool)) for v in osv_maven_versions for _ in range(20)]
    while len(pairs) < PAIRS:
        a = r.choice(pool) if r.random() < 0.5 else maven_wild(r)
        b = r.choice(pool) if r.random() < 0.5 else maven_wild(r)
        k = r.random()
        if k < 0.25:
            b = a[: r.randint(0, len(a))] + b[r.randint(0, len(b)) :] or "1"
        elif k < 0.5:
            b = maven_respell(r, a)
        pairs.append((a, b))
    assert_agree("maven", pairs, maven_oracle, min_valid=PAIRS * 8 // 10)


def test_maven_deliberate_rejections() -> None:
    """What hullscan rejects though Maven accepts it: the empty string, and non-ASCII digits read
    as numbers. What Maven itself throws on is rejected too."""
    for v, why in [
        ("", "RejectedError"),
        ("a-\u0668", "RejectedError"),
        ("x\u06681", "RejectedError"),
        ("1\U0001d7e4", "InvalidError"),
        ("1" * 257, "InvalidError"),
    ]:
        assert (mvn_rejection(v) or "").startswith(why), v
        with pytest.raises(InvalidVersionError):
            versions.key("maven", v)
    for v in ["\u0668", "1-\u0668", "\U0001d7e4", "1" * 256, "é", "ζέβρα"]:
        assert mvn_rejection(v) is None
        versions.key("maven", v)


MVN_RANGE_VERSIONS = [
    "1",
    "1.0",
    "1.0-SNAPSHOT",
    "1.1-SNAPSHOT",
    "1.2",
    "2.0",
    "2.0.5",
    "1.0.0.RC1",
    "1.0-alpha-1",
    "1-sp",
    "0.9",
    "3",
    "1.5-ga",
    "1.0.final",
    "x",
]


def maven_range(r: random.Random) -> str:
    def v() -> str:
        return r.choice(MVN_RANGE_VERSIONS) if r.random() < 0.8 else maven_wild(r)

    def one() -> str:
        lo = r.choice("[(")
        hi = r.choice("])")
        kind = r.random()
        if kind < 0.2:
            return f"{lo}{v()}{hi}"
        if kind < 0.35:
            return f"{lo},{r.choice(['', ' '])}{v()}{hi}"
        if kind < 0.5:
            return f"{lo}{v()},{hi}"
        return f"{lo}{v()}{r.choice([',', ', ', ' , '])}{v()}{hi}"

    kind = r.random()
    if kind < 0.1:
        return v()
    if kind < 0.15:
        return r.choice(["", " ", "[", "(1.0", "[1.0,2.0", "[]", "(,)", "[,]", "1.0,2.0", "[1.0],2"])
    return r.choice([",", ", ", " , "]).join(one() for _ in range(r.choice([1, 1, 1, 2, 3])))


def test_maven_ranges_against_the_transliteration() -> None:
    r = random.Random(5)
    cases = [
        (r.choice(MVN_RANGE_VERSIONS) if r.random() < 0.7 else maven_wild(r), maven_range(r))
        for _ in range(30_000)
    ]
    bad = []
    for version, spec in cases:
        want = maven_range_oracle(version, spec)
        try:
            got = versions.satisfies_native("maven", version, spec)
        except InvalidVersionError:
            got = None
        if got != want:
            bad.append((version, spec, want, got))
    assert not bad, f"{len(bad)} disagree (version, range, oracle, hullscan): {bad[:10]}"
    assert sum(maven_range_oracle(v, s) is True for v, s in cases) > 3000


# ---------------------------------------------------------------------------------------------
# NuGet: NuGetVersion.TryParse, VersionComparer.Default, VersionRange.TryParse / FloatRange.

NET_WHITE_SPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace() and c not in range(0x1C, 0x20))
NET_WHITE_SPACE += "\x85\xa0"  # char.IsWhiteSpace: Zs, Zl, Zp, U+0009-000D, U+0085, U+00A0
NET_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*\x00*")
NUGET_PART = re.compile(r"[A-Za-z0-9-]+")


def net_int(s: str) -> int | None:
    """int.TryParse(s, NumberStyles.Integer): surrounding white space, sign, trailing NULs."""
    m = NET_INT.fullmatch(s)
    if not m:
        return None
    value = int(m.group(1))
    return value if -(2**31) <= value < 2**31 else None


def nuget_sections(value: str) -> tuple[str | None, list[str] | None, str | None]:
    version = labels = metadata = None
    dash = plus = -1
    for i, ch in enumerate(value):
        end = i == len(value) - 1
        if dash < 0:
            if end or ch in "-+":
                version = value[: i + (1 if end else 0)]
                dash = i
                if ch == "+":
                    plus = i
        elif plus < 0:
            if end or ch == "+":
                labels = value[dash + 1 : i + (1 if end else 0)].split(".")
                plus = i
        elif end:
            metadata = value[plus + 1 : i + 1]
    return version, labels, metadata


def nuget_valid_part(s: str, allow_leading_zeros: bool) -> bool:
    if not s:
        return False
    if not allow_leading_zeros and len(s) > 1 and s[0] == "0" and s[1:].isascii() and s[1:].isdigit():
        return False
    return NUGET_PART.fullmatch(s) is not None


@functools.cache
def nuget_parse(value: str) -> tuple[tuple[int, ...], tuple[str, ...] | None] | None:
    version, labels, metadata = nuget_sections(value.strip(NET_WHITE_SPACE))
    if not version:
        return None
    if "." not in version:
        version += ".0"
    parts = version.split(".")
    if not 2 <= len(parts) <= 4:
        return None
    numbers = [net_int(p) for p in parts]
    if any(n is None or n < 0 for n in numbers):
        return None
    if labels is not None and not all(nuget_valid_part(p, False) for p in labels):
        return None
    if metadata is not None and not all(nuget_valid_part(p, True) for p in metadata.split(".")):
        return None
    nums = tuple(numbers) + (0,) * (4 - len(numbers))
    return nums, tuple(labels) if labels is not None else None


def nuget_compare_parsed(x, y) -> int:
    if x[0] != y[0]:
        return -1 if x[0] < y[0] else 1
    xl, yl = x[1], y[1]
    if xl is not None and yl is None:
        return -1
    if xl is None and yl is not None:
        return 1
    if xl is None:
        return 0
    for i in range(max(len(xl), len(yl))):
        if i >= len(xl):
            return -1
        if i >= len(yl):
            return 1
        a, b = net_int(xl[i]), net_int(yl[i])
        if a is not None and b is not None:
            r = sign(a - b)
        elif a is not None or b is not None:
            r = -1 if a is not None else 1
        else:
            ua, ub = xl[i].upper(), yl[i].upper()
            r = (ua > ub) - (ua < ub)
        if r:
            return r
    return 0


def nuget_oracle(a: str, b: str) -> int | None:
    x, y = nuget_parse(a), nuget_parse(b)
    if x is None or y is None:
        return None
    return nuget_compare_parsed(x, y)


def nuget_float_min(s: str):
    """FloatRange.TryParse(s): its MinVersion, or None when it does not parse."""
    if not s.strip(NET_WHITE_SPACE):
        return None
    first, last = s.find("*"), s.rfind("*")
    if len(s) == 1 and first == 0:
        return nuget_parse("0.0")
    if s == "*-*":
        return nuget_parse("0.0.0-0")
    if first != last and last != -1 and "+" not in s:
        dash = s.find("-")
        if dash != -1 and last == len(s) - 1 and first == dash - 1:
            stable = s[: dash - 1] + "0"
            prefix = s[dash + 1 :][:-1]
            release = prefix + "0" if (not prefix or prefix.endswith(".")) else prefix
            return nuget_parse(stable + "-" + release)
        return None
    if last == len(s) - 1 and "+" not in s:
        actual = s[:-1]
        if "-" not in s:
            actual += "0"
        elif s.find("-") == s.rfind("-"):
            prefix = actual[s.rfind("-") + 1 :]
            if not prefix or actual.endswith("."):
                actual += "0"
            elif actual.endswith("-"):
                actual += "-"
        return nuget_parse(actual)
    return nuget_parse(s)


def nuget_range_oracle(version: str, spec: str) -> bool | None:
    """VersionRange.Parse(spec).Satisfies(NuGetVersion.Parse(version))."""
    v = nuget_parse(version)
    if v is None:
        return None
    t = spec.strip(NET_WHITE_SPACE)
    if not t:
        return None
    if t == "*":
        lo, lo_inc, hi, hi_inc = nuget_parse("0.0.0"), True, None, False
    else:
        hi_s = None
        hi_inc = False
        if t[0] in "([":
            lo_inc = t[0] == "["
            if t[-1] not in "])":
                return None
            hi_inc = t[-1] == "]"
            parts = t[1:-1].split(",")
            if len(parts) > 2 or all(p == "" for p in parts):
                return None
            if len(parts) == 1 and not (lo_inc and hi_inc):
                return None
            lo_s, hi_s = parts[0], parts[-1]
        else:
            lo_inc, lo_s = True, t
        lo = hi = None
        if lo_s.strip(NET_WHITE_SPACE):
            lo = nuget_float_min(lo_s) if "*" in lo_s else nuget_parse(lo_s)
            if lo is None:
                return None
        if hi_s is not None and hi_s.strip(NET_WHITE_SPACE):
            hi = nuget_parse(hi_s)
            if hi is None:
                return None
        if lo is not None and hi is not None:
            c = nuget_compare_parsed(lo, hi)
            if c > 0 or (c == 0 and lo_inc != hi_inc):
                return None
    ok = True
    if lo is not None:
        c = nuget_compare_parsed(lo, v)
        ok &= c <= 0 if lo_inc else c < 0
    if hi is not None:
        c = nuget_compare_parsed(hi, v)
        ok &= c >= 0 if hi_inc else c > 0
    return ok


NUGET_NUMBERS = [
    "0",
    "1",
    "2",
    "3",
    "10",
    "01",
    "007",
    "99",
    "2147483647",
    "2147483648",
    "4294967296",
    " 1",
    "1 ",
    "\t2",
    "1\x00",
    "",
    "a",
    "1a",
    "+1",
    "٣",
]
NUGET_LABELS = [
    "alpha",
    "Alpha",
    "ALPHA",
    "beta",
    "rc",
    "RC",
    "a",
    "b",
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "00",
    "-1",
    "-0",
    "-01",
    "-",
    "--",
    "a-b",
    "A-B",
    "x",
    "Z",
    "z",
    "999999",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "0a",
    "",
    "a_b",
    "é",
    "a b",
]
NUGET_META = ["", "build", "1", "01", "a.b", "a..b", "meta-data", "x_y", "+1"]


def nuget_version(r: random.Random) -> str:
    messy = r.random() < 0.25
    clean_numbers = NUGET_NUMBERS[:10] if messy else [n for n in NUGET_NUMBERS[:9] if n not in ("01", "007")]
    nums = [
        r.choice(clean_numbers) if not messy or r.random() < 0.8 else r.choice(NUGET_NUMBERS)
        for _ in range(r.choice([1, 2, 3, 3, 3, 4] + ([5] if messy else [])))
    ]
    s = ".".join(nums)
    if r.random() < 0.5:
        clean_labels = [x for x in NUGET_LABELS[:24] if x not in ("01", "00", "-01")]
        labels = [
            r.choice(clean_labels) if not messy or r.random() < 0.8 else r.choice(NUGET_LABELS)
            for _ in range(r.randint(1, 4))
        ]
        s += "-" + ".".join(labels)
    if r.random() < 0.2:
        s += "+" + (r.choice(NUGET_META) if messy else r.choice(NUGET_META[1:7]))
    if messy and r.random() < 0.2:
        s = r.choice([" ", "\t", "\u00a0", "\u2003", "\n"]) + s + r.choice(["", " ", "\u3000"])
    return s


def nuget_respell(r: random.Random, v: str) -> str:
    """A spelling of `v` NuGet may consider equal: case, trailing zero parts, metadata, padding."""
    for _ in range(r.randint(1, 3)):
        k = r.randint(0, 4)
        if k == 0:
            v = swap_case(r, v)
        elif k == 1:
            head, sep, tail = v.partition("-")
            v = head + r.choice([".0", ".0.0", ""]) + sep + tail
        elif k == 2:
            v = v.split("+")[0] + r.choice(["", "+meta", "+1.2"])
        elif k == 3:
            v = r.choice(["", " "]) + v + r.choice(["", " ", "\t"])
        else:
            v = re.sub(r"^(\d+)", lambda m: "0" + m.group(1), v)
    return v


def test_nuget_against_the_transliteration() -> None:
    r = random.Random(11)
    pool = [nuget_version(r) for _ in range(5000)]
    pairs = []
    while len(pairs) < PAIRS:
        a = r.choice(pool) if r.random() < 0.6 else nuget_version(r)
        b = r.choice(pool) if r.random() < 0.6 else nuget_version(r)
        if r.random() < 0.3:
            b = nuget_respell(r, a)
        pairs.append((a, b))
    assert_agree("nuget", pairs, nuget_oracle, min_valid=PAIRS // 2)


def nuget_range(r: random.Random) -> str:
    def v() -> str:
        return (
            nuget_version(r) if r.random() < 0.3 else r.choice(["1.0", "1.0.0", "2.0", "1.0.0-beta", "0.9"])
        )

    floats = [
        "*",
        "*-*",
        "1.*",
        "1.0.*",
        "1.0.0.*",
        "1.0.0-*",
        "1.0.0-beta*",
        "1.0.0-beta.*",
        "1.*-*",
        "1.0.*-a*",
        "*-a*",
        "1.0.0-a-*",
        "1.*.0",
        "1.0*",
        "1.0.0-*+x",
        "**",
        "1.0-a.*-*",
        "1.*-beta.*",
        "1.0.*-rc.*",
        "*-rc.*",
        "1.0.0.*-*",
        "1.0.0.0.*-a*",
    ]
    kind = r.random()
    if kind < 0.25:
        return v()
    if kind < 0.4:
        return r.choice(floats)
    lo = r.choice("[(")
    hi = r.choice("])")
    inner = r.choice(
        [
            f"{v()}, {v()}",
            f"{v()},{v()}",
            f",{v()}",
            f"{v()},",
            f"{v()}",
            f"{r.choice(floats)}, {v()}",
            f"{r.choice(floats)},",
            "",
            ",",
            " , ",
            f"{v()},{v()},{v()}",
        ]
    )
    return r.choice(["", " "]) + lo + inner + hi


def test_nuget_ranges_against_the_transliteration() -> None:
    r = random.Random(12)
    cases = [
        (
            nuget_version(r) if r.random() < 0.5 else r.choice(["1.0", "1.5", "2.0", "1.0.0-a", "0.1"]),
            nuget_range(r),
        )
        for _ in range(30_000)
    ]
    bad = []
    for version, spec in cases:
        want = nuget_range_oracle(version, spec)
        try:
            got = versions.satisfies_native("nuget", version, spec)
        except InvalidVersionError:
            got = None
        if got != want:
            bad.append((version, spec, want, got))
    assert not bad, f"{len(bad)} disagree (version, range, oracle, hullscan): {bad[:10]}"
    assert sum(nuget_range_oracle(v, s) is True for v, s in cases) > 3000


# ---------------------------------------------------------------------------------------------
# Composer: VersionParser::normalize, PHP's version_compare, Semver::satisfies.
# PHP strings are bytes and PCRE runs without /u: the regexes below work on UTF-8 bytes.

COMPOSER_MODIFIER = rb"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
COMPOSER_STABILITIES = rb"stable|RC|beta|alpha|dev"
PHP_TRIM = b" \t\n\r\x00\x0b"


def php_group(m: re.Match, i: int) -> bytes:
    g = m.group(i)
    return b"" if g is None else g


def composer_expand(stability: bytes) -> bytes:
    s = stability.lower()
    return {b"a": b"alpha", b"b": b"beta", b"p": b"patch", b"pl": b"patch", b"rc": b"RC"}.get(s, s)


def composer_normalize_branch(name: bytes) -> bytes:
    name = name.strip(PHP_TRIM)
    m = re.match(rb"^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$", name, re.I)
    if m:
        version = b"".join(
            m.group(i).replace(b"*", b"x").replace(b"X", b"x") if m.group(i) is not None else b".x"
            for i in range(1, 5)
        )
        return version.replace(b"x", b"9999999") + b"-dev"
    return b"dev-" + name


def composer_normalize(version: bytes) -> bytes:
    version = version.strip(PHP_TRIM)
    if b"\n" in version:
        raise RejectedError("a line break in a version")
    m = re.match(rb"^([^,\s]++) ++as ++([^,\s]++)$", version)
    if m:
        version = m.group(1)
    m = re.search(rb"@(?:" + COMPOSER_STABILITIES + rb")$", version, re.I)
    if m:
        version = version[: len(version) - len(m.group(0))]
    if version in (b"master", b"trunk", b"default"):
        version = b"dev-" + version
    if version[:4].lower() == b"dev-":
        return b"dev-" + version[4:]
    m = re.match(rb"^([^,\s+]++)\+[^\s]++$", version)
    if m:
        version = m.group(1)
    m = re.match(rb"^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + COMPOSER_MODIFIER + rb"$", version, re.I)
    index = 0
    if m:
        version = m.group(1) + b"".join(php_group(m, i) or b".0" for i in (2, 3, 4))
        index = 5
    else:
        m = re.match(
            rb"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)" + COMPOSER_MODIFIER + rb"$", version, re.I
        )
        if m:
            version = re.sub(rb"\D", b".", m.group(1))
            index = 2
    if index:
        if php_group(m, index):
            if m.group(index) == b"stable":
                return version
            version += b"-" + composer_expand(m.group(index)) + php_group(m, index + 1).lstrip(b".-")
        if php_group(m, index + 2):
            version += b"-dev"
        return version
    m = re.search(rb"(.*?)[.-]?dev$", version, re.I)
    if m:
        normalized = composer_normalize_branch(m.group(1))
        if b"dev-" not in normalized:
            return normalized
    raise InvalidError(f"invalid version string {version!r}")


@functools.cache
def composer_normalized(version: str) -> bytes | None:
    try:
        return composer_normalize(version.encode())
    except InvalidError:
        return None


def php_canonicalize(v: bytes) -> bytes:
    if not v:
        return b""

    def isdig(c: int) -> bool:
        return 0x30 <= c <= 0x39

    def isndig(c: int) -> bool:
        return not isdig(c) and c != 0x2E

    out = bytearray(v[:1])
    lp = v[0]
    for c in v[1:]:
        if c in b"-_+":
            if out[-1] != 0x2E:
                out.append(0x2E)
        elif (isndig(lp) and isdig(c)) or (isdig(lp) and isndig(c)):
            if out[-1] != 0x2E:
                out.append(0x2E)
            out.append(c)
        elif not (chr(c).isascii() and chr(c).isalnum()):
            if out[-1] != 0x2E:
                out.append(0x2E)
        else:
            out.append(c)
        lp = c
    return bytes(out)


PHP_SPECIAL_FORMS = [
    (b"dev", 0),
    (b"alpha", 1),
    (b"a", 1),
    (b"beta", 2),
    (b"b", 2),
    (b"RC", 3),
    (b"rc", 3),
    (b"#", 4),
    (b"pl", 5),
    (b"p", 5),
]


def php_special(form: bytes) -> int:
    for name, order in PHP_SPECIAL_FORMS:
        if form.startswith(name):
            return order
    return -6


def php_strtol(s: bytes) -> int:
    m = re.match(rb"\d+", s)
    value = int(m.group(0)) if m else 0
    return min(value, 2**63 - 1)


def php_version_compare(v1: bytes, v2: bytes) -> int:
    if not v1 or not v2:
        return 0 if not v1 and not v2 else (1 if v1 else -1)
    a = v1 if v1[:1] == b"#" else php_canonicalize(v1)
    b = v2 if v2[:1] == b"#" else php_canonicalize(v2)
    # walk the '.'-separated elements as the C loop does, n1/n2 tracking "a separator follows"
    p1 = p2 = 0
    n1 = n2 = True
    compare = 0
    while p1 < len(a) and p2 < len(b) and n1 and n2:
        e1_end = a.find(b".", p1)
        e2_end = b.find(b".", p2)
        n1, n2 = e1_end != -1, e2_end != -1
        e1 = a[p1 : e1_end if n1 else len(a)]
        e2 = b[p2 : e2_end if n2 else len(b)]
        d1, d2 = e1[:1].isdigit(), e2[:1].isdigit()
        if d1 and d2:
            compare = sign(php_strtol(e1) - php_strtol(e2))
        elif not d1 and not d2:
            compare = sign(php_special(e1) - php_special(e2))
        elif d1:
            compare = sign(php_special(b"#N#") - php_special(e2))
        else:
            compare = sign(php_special(e1) - php_special(b"#N#"))
        if compare:
            break
        if n1:
            p1 = e1_end + 1
        if n2:
            p2 = e2_end + 1
    if compare == 0:
        if n1:
            compare = 1 if a[p1 : p1 + 1].isdigit() else php_version_compare(a[p1:], b"#N#")
        elif n2:
            compare = -1 if b[p2 : p2 + 1].isdigit() else php_version_compare(b"#N#", b[p2:])
    return compare


def composer_oracle(a: str, b: str):
    """Comparator::compare on normalised versions (branches compared as composer's Comparator
    does: a branch against a number by version_compare; two different branches are unordered)."""
    na, nb = composer_normalized(a), composer_normalized(b)
    if na is None or nb is None:
        return None
    if na.startswith(b"dev-") and nb.startswith(b"dev-"):
        return 0 if na == nb else "unordered"
    return php_version_compare(na, nb)


# Semver::satisfies, through VersionParser::parseConstraints and Constraint::matchSpecific.

COMPOSER_VERSION_REGEX = (
    rb"v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.(\d++))?(?:"
    + COMPOSER_MODIFIER
    + rb"|\.([xX*][.-]?dev))(?:\+[^\s]+)?"
)


def composer_manipulate(groups: list[bytes], position: int, increment: int = 0) -> bytes:
    g = list(groups)
    for i in range(4, 0, -1):
        if i > position:
            g[i] = b"0"
        elif i == position and increment:
            value = int(g[i]) + increment
            if value > 2**63 - 1:
                raise RejectedError("a bound past PHP_INT_MAX (PHP makes it a float)")
            g[i] = str(value).encode()
    return b".".join(g[1:5])


def composer_parse_stability(version: bytes) -> str:
    version = re.sub(rb"#.+$", b"", version)
    if version.startswith(b"dev-") or version.endswith(b"-dev"):
        return "dev"
    m = re.search(COMPOSER_MODIFIER + rb"(?:\+.*)?$", version.lower(), re.I)
    if m and php_group(m, 3):
        return "dev"
    if m and php_group(m, 1):
        s = m.group(1)
        if s in (b"beta", b"b"):
            return "beta"
        if s in (b"alpha", b"a"):
            return "alpha"
        if s == b"rc":
            return "RC"
    return "stable"


def composer_parse_constraint(c: bytes) -> list:
    m = re.match(rb"^([^,\s]++) ++as ++([^,\s]++)$", c)
    if m:
        c = m.group(1)
    stability_modifier = None
    m = re.match(rb"^([^,\s]*?)@(" + COMPOSER_STABILITIES + rb")$", c, re.I)
    if m:
        c = m.group(1) or b"*"
        if m.group(2) != b"stable":
            stability_modifier = m.group(2)
    m = re.match(rb"^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$", c, re.I)
    if m:
        c = m.group(1)
    m = re.match(rb"^(v)?[xX*](\.[xX*])*$", c, re.I)
    if m:
        if m.group(1) or m.group(2):
            return [(">=", b"0.0.0.0-dev")]
        return [("*", b"")]
    m = re.match(rb"^~>?" + COMPOSER_VERSION_REGEX + rb"$", c, re.I)
    if m:
        if c.startswith(b"~>"):
            raise InvalidError("~> is not a composer operator")
        g = [php_group(m, i) for i in range(9)]
        position = 4 if g[4] else 3 if g[3] else 2 if g[2] else 1
        if g[8]:
            position += 1
        suffix = b"-dev" if not g[5] and not g[7] and not g[8] else b""
        low = composer_normalize((c + suffix)[1:])
        high = composer_manipulate(g, max(1, position - 1), 1) + b"-dev"
        return [(">=", low), ("<", high)]
    m = re.match(rb"^\^" + COMPOSER_VERSION_REGEX + rb"($)", c, re.I)
    if m:
        g = [php_group(m, i) for i in range(9)]
        if g[1] != b"0" or not g[2]:
            position = 1
        elif g[2] != b"0" or not g[3]:
            position = 2
        else:
            position = 3
        suffix = b"-dev" if not g[5] and not g[7] and not g[8] else b""
        low = composer_normalize((c + suffix)[1:])
        high = composer_manipulate(g, position, 1) + b"-dev"
        return [(">=", low), ("<", high)]
    m = re.match(rb"^v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.[xX*])++$", c)
    if m:
        g = [php_group(m, i) for i in range(4)] + [b""]
        position = 3 if g[3] else 2 if g[2] else 1
        low = composer_manipulate(g, position) + b"-dev"
        high = composer_manipulate(g, position, 1) + b"-dev"
        if low == b"0.0.0.0-dev":
            return [("<", high)]
        return [(">=", low), ("<", high)]
    m = re.match(
        rb"^(?P<from>" + COMPOSER_VERSION_REGEX + rb") +- +(?P<to>" + COMPOSER_VERSION_REGEX + rb")($)",
        c,
        re.I,
    )
    if m:
        g = [php_group(m, i) for i in range(20)]

        def empty(x: bytes) -> bool:
            return x != b"0" and not x

        low_suffix = b"-dev" if not g[6] and not g[8] and not g[9] else b""
        low = composer_normalize(m.group("from")) + low_suffix
        if (not empty(g[12]) and not empty(g[13])) or g[15] or g[17] or g[18]:
            upper = ("<=", composer_normalize(m.group("to")))
        else:
            composer_normalize(m.group("to"))
            high = composer_manipulate([b"", g[11], g[12], g[13], g[14]], 1 if empty(g[12]) else 2, 1)
            upper = ("<", high + b"-dev")
        return [(">=", low), upper]
    m = re.match(rb"^(<>|!=|>=?|<=?|==?)?\s*(.*)", c)
    rest = m.group(2)
    try:
        version = composer_normalize(rest)
    except RejectedError:
        raise
    except InvalidError:
        if rest.endswith(b"-dev") and re.match(rb"^[0-9a-zA-Z-./]+$", rest):
            version = composer_normalize(b"dev-" + rest[:-4])
        else:
            raise
    op = (m.group(1) or b"=").decode()
    if op not in ("==", "=") and stability_modifier and composer_parse_stability(version) == "stable":
        version += b"-" + stability_modifier
    elif (
        op in ("<", ">=")
        and not re.search(b"-" + COMPOSER_MODIFIER + b"$", rest.lower())
        and not rest.startswith(b"dev-")
    ):
        version += b"-dev"
    return [(op, version)]


def composer_constraints(spec: bytes) -> list[list]:
    spec = spec.strip(PHP_TRIM)
    if b"\n" in spec:
        raise RejectedError("a line break in a constraint")
    groups = []
    for or_part in re.split(rb"\s*\|\|?\s*", spec):
        ands = re.split(rb"(?<!^)(?<!as)(?<![=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)", or_part)
        group = []
        for part in ands:
            group.extend(composer_parse_constraint(part))
        groups.append(group)
    return groups


def composer_matches(op: str, v: bytes, x: bytes) -> bool:
    vb, xb = v.startswith(b"dev-"), x.startswith(b"dev-")
    if op == "*":
        return True
    if op in ("!=", "<>") and (vb or xb):
        return v != x
    if vb or xb:
        return op in ("==", "=") and vb and xb and v == x
    c = php_version_compare(x, v)
    return {
        "=": c == 0,
        "==": c == 0,
        "!=": c != 0,
        "<>": c != 0,
        "<": c < 0,
        "<=": c <= 0,
        ">": c > 0,
        ">=": c >= 0,
    }[op]


def composer_satisfies_oracle(version: str, spec: str) -> bool | None:
    try:
        x = composer_normalize(version.encode())
        groups = composer_constraints(spec.encode())
    except InvalidError:
        return None
    return any(all(composer_matches(op, v, x) for op, v in group) for group in groups)


COMPOSER_STABILITY_WORDS = [
    "alpha",
    "Alpha",
    "a",
    "beta",
    "BETA",
    "b",
    "RC",
    "rc",
    "Rc",
    "patch",
    "pl",
    "p",
    "stable",
    "STABLE",
    "dev",
    "gamma",
]


def composer_version(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.08:
        return r.choice(
            [
                "dev-main",
                "dev-master",
                "dev-Feature/x",
                "DEV-foo",
                "master",
                "trunk",
                "default",
                "1.x-dev",
                "2.1.x-dev",
                "v1.*-dev",
                "1.2.X-dev",
                "foo-dev",
                "dev",
                "1.0.0.x-dev",
                "2.x",
                "x",
                "",
                " ",
                "1.0 as 2.0",
                "dev-foo as 1.0",
                "1.0.0#abc",
            ]
        )
    if kind < 0.14:
        return r.choice(
            [
                "2023-01-02",
                "20230102",
                "2023.01.02.1",
                "2023-01-02-beta1",
                "2023010212345",
                "202301",
                "2023-1-2",
                "v2010.01.02",
                "20230102:1212",
                "2023-01-02.12.1-dev",
            ]
        )
    major = str(r.randint(0, 12)) if r.random() < 0.9 else r.choice(["00", "123456", "99999", "007"])
    parts = [major] + [
        r.choice(["0", "1", "2", "10", "01", str(r.randint(0, 99)), "99999999999999999999"])
        for _ in range(r.choice([0, 1, 2, 2, 3, 3, 4]))
    ]
    s = (r.choice(["", "", "", "v", "V"])) + ".".join(parts)
    if r.random() < 0.45:
        s += r.choice(["", "-", "-", ".", "_"]) + r.choice(COMPOSER_STABILITY_WORDS)
        if r.random() < 0.6:
            s += r.choice(["", ".", "-"]) + str(r.randint(0, 12)) + r.choice(["", ".1", "-2", ".0.3"])
    if r.random() < 0.15:
        s += r.choice(["-dev", ".dev", "dev", "-DEV"])
    if r.random() < 0.08:
        s += r.choice(["+build", "+build.1", "+", "@dev", "@beta", "@stable", "@foo"])
    return s


def composer_respell(r: random.Random, v: str) -> str:
    """A spelling of `v` composer may normalise alike: `v` prefix, zeros, stability spellings."""
    for _ in range(r.randint(1, 3)):
        k = r.randint(0, 5)
        if k == 0:
            v = swap_case(r, v)
        elif k == 1:
            v = r.choice(["v", ""]) + v.lstrip("vV")
        elif k == 2:
            v = re.sub(r"^(v?\d+(?:\.\d+)*)", lambda m: m.group(1) + r.choice([".0", ""]), v)
        elif k == 3:
            v = v.replace("-beta", r.choice(["b", ".beta", "-b", "beta"])).replace(
                "-alpha", r.choice(["a", "-a"])
            )
        elif k == 4:
            v = v.replace("-RC", r.choice(["rc", "-rc", ".RC"])).replace("-p", r.choice(["pl", "-patch"]))
        else:
            v = v + r.choice(["", "+build", "@stable", " as 9.9"])
    return v


def test_composer_against_the_transliteration() -> None:
    r = random.Random(21)
    pool = [composer_version(r) for _ in range(5000)]
    pairs = []
    while len(pairs) < PAIRS:
        a = r.choice(pool) if r.random() < 0.6 else composer_version(r)
        b = r.choice(pool) if r.random() < 0.6 else composer_version(r)
        if r.random() < 0.3:
            b = composer_respell(r, a)
        pairs.append((a, b))
    assert_agree("composer", pairs, composer_oracle, min_valid=PAIRS // 3)


def composer_constraint(r: random.Random) -> str:
    def v() -> str:
        base = ".".join(str(r.randint(0, 3)) for _ in range(r.randint(1, 4)))
        if r.random() < 0.2:
            base += r.choice(["-beta", "-dev", "-RC1", "-alpha.2", "-p1", "+build", ".x-dev", "-stable"])
        if r.random() < 0.1:
            base = "v" + base
        return base

    def atom() -> str:
        k = r.random()
        if k < 0.45:
            return r.choice(["", ">=", ">", "<", "<=", "=", "==", "!=", "<>", "~", "^", ">= ", "< "]) + v()
        if k < 0.6:
            return r.choice(["*", "x", "1.*", "1.2.*", "1.x.x", "2.x", "v*", "*.*", "X", "1.2.x", "0.*"])
        if k < 0.72:
            return f"{v()} - {v()}"
        if k < 0.8:
            return v() + r.choice(["@dev", "@beta", "@stable", "@RC", "@alpha", "@Dev"])
        if k < 0.86:
            return r.choice(
                [
                    "dev-main",
                    "dev-master",
                    "dev-foo#abc",
                    "1.x-dev#abcdef",
                    "1.0 as 2.0",
                    "master",
                    "foo-dev",
                    "~>1.0",
                    "@dev",
                    ">=1.0@dev",
                    "^0",
                    "^0.0",
                    "^0.0.1",
                    "~0",
                    "~1.2.3.4",
                    "foo",
                    "1.0,",
                    ",1.0",
                    "1 -2",
                    "1- 2",
                    "99999999999999999999.0.0 - 1",
                ]
            )
        return r.choice([">=", "<", "~", "^", ""]) + v() + r.choice(["-beta", "-dev", "@dev", ""])

    groups = []
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        groups.append(
            r.choice([" ", ",", ", ", " , ", "  "]).join(atom() for _ in range(r.choice([1, 1, 2, 3])))
        )
    return r.choice([" || ", "||", " | ", "|"]).join(groups)


def test_composer_satisfies_against_the_transliteration() -> None:
    r = random.Random(22)
    cases = []
    for _ in range(30_000):
        version = (
            composer_version(r)
            if r.random() < 0.3
            else ".".join(str(r.randint(0, 3)) for _ in range(r.randint(1, 4)))
            + r.choice(["", "", "-beta", "-dev", "-RC1", "-p1", "-alpha.2"])
        )
        cases.append((version, composer_constraint(r)))
    bad = []
    for version, spec in cases:
        want = composer_satisfies_oracle(version, spec)
        try:
            got = versions.satisfies_native("composer", version, spec)
        except InvalidVersionError:
            got = None
        if got != want:
            bad.append((version, spec, want, got))
    assert not bad, f"{len(bad)} disagree (version, constraint, oracle, hullscan): {bad[:10]}"
    assert sum(composer_satisfies_oracle(v, s) is True for v, s in cases) > 3000


def test_composer_deliberate_differences() -> None:
    # two different branches: composer says neither <, > nor ==; hullscan orders them, never equal
    assert versions.compare("composer", "dev-a", "dev-b") != 0
    assert versions.compare("composer", "dev-a", "dev-a") == 0
    assert versions.compare("composer", "dev-a", "0.0.0.1") < 0
    # satisfies follows composer: a branch never matches an ordering constraint
    assert not versions.satisfies_native("composer", "dev-main", ">=0")
    assert versions.satisfies_native("composer", "dev-main", "*")
    for bad_input in ["1.0\n2.0", "1.0\n@dev"]:
        with pytest.raises(InvalidVersionError):
            versions.key("composer", bad_input)
    with pytest.raises(InvalidVersionError):
        versions.satisfies_native("composer", "1.0", "1.0\n 2.0")
    with pytest.raises(InvalidVersionError):
        versions.satisfies_native("composer", "1.0", "^99999999999999999999")


# ---------------------------------------------------------------------------------------------
# Properties: hypothesis-built versions, each scheme. Keys are the comparison, so ordering
# properties are checked through compare() and key() separately, against the oracle as well.


def _maven_versions() -> st.SearchStrategy[str]:
    atom = st.sampled_from(MVN_ATOMS)
    sep = st.sampled_from(MVN_SEPS)
    return st.builds(
        lambda first, rest: first + "".join(s + a for s, a in rest),
        atom,
        st.lists(st.tuples(sep, atom), max_size=6),
    ).filter(bool)


def _nuget_versions() -> st.SearchStrategy[str]:
    num = st.sampled_from(NUGET_NUMBERS[:10])
    label = st.sampled_from(NUGET_LABELS[:24])
    return st.builds(
        lambda nums, labels, meta: ".".join(nums) + ("-" + ".".join(labels) if labels else "") + meta,
        st.lists(num, min_size=1, max_size=4),
        st.lists(label, max_size=3),
        st.sampled_from(["", "+build", "+1.2"]),
    )


def _composer_versions() -> st.SearchStrategy[str]:
    return st.randoms(use_true_random=False).map(composer_version)


SCHEME_STRATEGIES = {"maven": _maven_versions(), "nuget": _nuget_versions(), "composer": _composer_versions()}
ORACLES: dict[str, Callable[[str, str], object]] = {
    "maven": maven_oracle,
    "nuget": nuget_oracle,
    "composer": composer_oracle,
}
PROPERTY_SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _cmp_or_none(scheme: str, a: str, b: str) -> int | None:
    try:
        return versions.compare(scheme, a, b)
    except InvalidVersionError:
        return None


@pytest.mark.parametrize("scheme", list(SCHEME_STRATEGIES))
def test_properties(scheme: str) -> None:
    strategy = SCHEME_STRATEGIES[scheme]

    @PROPERTY_SETTINGS
    @given(strategy, strategy, strategy)
    def check(a: str, b: str, c: str) -> None:
        ab, ba = _cmp_or_none(scheme, a, b), _cmp_or_none(scheme, b, a)
        if ab is None:
            assert ba is None
            return
        # antisymmetry, and the oracle agrees
        assert ab == -ba
        want = ORACLES[scheme](a, b)
        assert (ab != 0) if want == "unordered" else (ab == want), (a, b, ab, want)
        # equal keys exactly when compare says equal; key order is the order
        ka, kb = versions.key(scheme, a), versions.key(scheme, b)
        assert (ka == kb) == (ab == 0)
        assert sign((ka > kb) - (ka < kb)) == ab
        # transitivity over the triple
        bc, ac = _cmp_or_none(scheme, b, c), _cmp_or_none(scheme, a, c)
        if bc is None or ac is None:
            return
        if ab <= 0 and bc <= 0:
            assert ac <= 0
            if ab == 0 and bc == 0:
                assert ac == 0
        if ab >= 0 and bc >= 0:
            assert ac >= 0

    check()


@pytest.mark.parametrize("scheme", list(SCHEME_STRATEGIES))
def test_the_oracle_order_is_a_total_preorder(scheme: str) -> None:
    """A byte key can only exist if the native order is transitive: check the oracle's order on a
    sample (sorted with it, every pair must agree with the sorted positions)."""
    r = random.Random(3)
    gen = {"maven": maven_wild, "nuget": nuget_version, "composer": composer_version}[scheme]
    oracle = ORACLES[scheme]
    sample = []
    for _ in range(600):
        v = gen(r)
        if oracle(v, v) == 0:
            sample.append(v)
    if scheme == "composer":  # branches are unordered among themselves in composer
        sample = [v for v in sample if not composer_normalized(v).startswith(b"dev-")]
    ordered = sorted(sample, key=functools.cmp_to_key(oracle))
    classes = [0]
    for x, y in itertools.pairwise(ordered):
        classes.append(classes[-1] + (oracle(x, y) != 0))
    for i in range(len(ordered)):
        for j in range(i + 1, len(ordered)):
            want = -1 if classes[i] < classes[j] else 0
            assert oracle(ordered[i], ordered[j]) == want, (ordered[i], ordered[j])


# ---------------------------------------------------------------------------------------------
# InvalidError input: InvalidVersionError, never a panic.

INVALID = {
    "maven": ["", "1" * 257, "1\U0001d7e4", "a-\u0668"],
    "nuget": [
        "",
        " ",
        "a",
        "1.0.0-",
        "1.0.0-01",
        "1.2.3.4.5",
        "1..0",
        "2147483648.0",
        "-1.0",
        "1.0+",
        "1.0-a..b",
        "1.0-a_b",
        "1.0+a..b",
        "*",
        "1.0.*",
    ],
    "composer": [
        "",
        "foo",
        "1.0.0.0.0",
        "foo-dev",
        "1.0-gamma",
        "dev",
        "1.2.3.4.5-dev",
        "1.0\n2.0",
        "~1.0",
        ">=1.0",
        "1.0 - 2.0",
        "1.0,2.0",
    ],
}
INVALID_RANGES = {
    "maven": [
        "[1.0",
        "(1.0)",
        "[2.0,1.0]",
        "[1.0,2.0),[1.5,3)",
        "[1.0],2.0",
        "[1.0,1.0)",
        "[" + "1" * 300 + "]",
    ],
    "nuget": [
        "",
        "[",
        "(1.0]",
        "[1.0,2.0,3.0]",
        "[,]",
        "(2.0,1.0)",
        "[1.0,1.0)",
        "[1.*]",
        "1.*.0",
        "abc",
        "[a,b]",
    ],
    "composer": [
        "",
        "foo",
        "~>1.0",
        ">=foo",
        "1.0 ||",
        "|| 1.0",
        "^99999999999999999999",
        "1.0 - ",
        ">= 1.0 <",
    ],
}


@pytest.mark.parametrize("scheme", list(INVALID))
def test_invalid_versions_raise(scheme: str) -> None:
    for v in INVALID[scheme]:
        with pytest.raises(InvalidVersionError):
            versions.key(scheme, v)
        with pytest.raises(InvalidVersionError):
            versions.compare(scheme, v, "1.0")
        with pytest.raises(InvalidVersionError):
            versions.satisfies_native(scheme, v, "1.0" if scheme != "maven" else "[1.0,)")
    for rng in INVALID_RANGES[scheme]:
        with pytest.raises(InvalidVersionError):
            versions.satisfies_native(scheme, "1.0", rng)


def _junk() -> Iterator[str]:
    r = random.Random(17)
    alphabet = "0123456789.-+_~*^<>=!|,@# \t\nabxXvdevrcpa\u0668\u00e9\U0001d7e4\x00[]()"
    for _ in range(20_000):
        yield "".join(r.choice(alphabet) for _ in range(r.randint(0, 24)))


@pytest.mark.parametrize("scheme", list(INVALID))
def test_arbitrary_strings_never_panic(scheme: str) -> None:
    """Arbitrary strings as versions and as ranges: a result or InvalidVersionError, nothing else
    (a Rust panic would surface as pyo3's PanicException, which is not an InvalidVersionError)."""
    junk = list(_junk())
    results = hullscan_many(scheme, list(zip(junk, reversed(junk), strict=True)))
    assert len(results) == len(junk)
    for s in junk[:5000]:
        with contextlib.suppress(InvalidVersionError):
            versions.satisfies_native(scheme, "1.0", s)
        with contextlib.suppress(InvalidVersionError):
            versions.key(scheme, s)


@pytest.mark.parametrize("scheme", list(INVALID))
def test_invalid_agrees_with_the_oracle_on_junk(scheme: str) -> None:
    """Which arbitrary strings are versions: the same answer as the oracle."""
    oracle = ORACLES[scheme]
    junk = list(_junk())
    got = hullscan_many(scheme, [(s, s) for s in junk])
    bad = [
        (s, oracle(s, s), g) for s, g in zip(junk, got, strict=True) if (oracle(s, s) is None) != (g is None)
    ]
    assert not bad, bad[:10]
