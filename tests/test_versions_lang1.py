"""Differential and property tests for the language version schemes: PEP 440, SemVer, Go, RubyGems.

Oracles, all independent of hullscan:
- PEP 440: ``packaging.version.Version`` and ``packaging.specifiers.SpecifierSet`` (installed).
- SemVer: the precedence rules of semver.org 2.0 written below (the official validation regex plus
  node-semver's documented leniencies: surrounding whitespace, one leading ``v``, at most 256
  characters, MAJOR/MINOR/PATCH at most 2^53 - 1).
- Go: the same precedence with golang.org/x/mod/semver's syntax (required ``v``, ``v1``/``v1.2``
  shorthands, no size limit).
- RubyGems: a transliteration of ``Gem::Version#<=>`` (canonical segments, zero padding) below.

hullscan is called through ``_core.version_compare_many`` (None for an invalid version). Random
inputs come from seeded generators, so every run checks the same cases.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from hullscan import _core, versions
from hullscan.errors import InvalidVersionError

PAIRS = 100_000

# --------------------------------------------------------------------------------------------
# oracles


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


@functools.cache
def pep440_parse(s: str) -> Version | None:
    try:
        return Version(s)
    except (InvalidVersion, ValueError):  # ValueError: int() digit limit
        return None


def pep440_cmp(a: str, b: str) -> int | None:
    va, vb = pep440_parse(a), pep440_parse(b)
    if va is None or vb is None:
        return None
    return (va > vb) - (va < vb)


JS_SPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
JS_SPACE += "\u2028\u2029\u202f\u205f\u3000\ufeff"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD = r"[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*"
# semver.org's regular expression for SemVer 2.0
SEMVER_RE = re.compile(
    rf"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+({_BUILD}))?"
)
# golang.org/x/mod/semver: vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]
GO_RE = re.compile(
    rf"v(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+({_BUILD}))?)?)?"
)
MAX_SAFE_INTEGER = 2**53 - 1

PreKey = tuple[tuple[int, int | str], ...]
SemKey = tuple[int, int, int, int, PreKey]


def _precedence(major: str, minor: str, patch: str, pre: str | None) -> SemKey:
    """SemVer 2.0 section 11 as a sortable tuple: a release sorts after its pre-releases; numeric
    identifiers (by value) before alphanumeric ones (ASCII); a shorter list first."""
    ids: PreKey = ()
    if pre is not None:
        ids = tuple((0, int(i)) if i.isdigit() else (1, i) for i in pre.split("."))
    return (int(major), int(minor), int(patch), 0 if pre is not None else 1, ids)


def semver_key(s: str) -> SemKey | None:
    if len(s.encode("utf-16-le")) // 2 > 256:
        return None
    t = s.strip(JS_SPACE)
    t = t.removeprefix("v")
    m = SEMVER_RE.fullmatch(t)
    if m is None or any(int(m.group(i)) > MAX_SAFE_INTEGER for i in (1, 2, 3)):
        return None
    return _precedence(m.group(1), m.group(2), m.group(3), m.group(4))


def go_key(s: str) -> SemKey | None:
    m = GO_RE.fullmatch(s)
    if m is None:
        return None
    return _precedence(m.group(1), m.group(2) or "0", m.group(3) or "0", m.group(4))


def key_cmp(parse: Callable[[str], object | None]) -> Callable[[str, str], int | None]:
    def cmp(a: str, b: str) -> int | None:
        ka, kb = parse(a), parse(b)
        if ka is None or kb is None:
            return None
        return (ka > kb) - (ka < kb)  # type: ignore[operator]

    return cmp


semver_cmp = key_cmp(semver_key)
go_cmp = key_cmp(go_key)

RUBY_SPACE = " \t\n\v\f\r"
GEM_RE = re.compile(
    r"\A[ \t\n\v\f\r]*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?[ \t\n\v\f\r]*\Z"
)


def gem_version(s: str) -> str | None:
    """``Gem::Version.new(s).version``, or None when ``correct?`` says no."""
    if not GEM_RE.match(s):
        return None
    v = s.strip(RUBY_SPACE)
    return "0" if v == "" else v.replace("-", ".pre.")


def gem_segments(v: str) -> list[int | str]:
    return [int(x) if x.isdigit() else x for x in re.findall(r"[0-9]+|[a-zA-Z]+", v)]


def gem_canonical(v: str) -> list[int | str]:
    segs = gem_segments(v)
    first_str = next((i for i, x in enumerate(segs) if isinstance(x, str)), len(segs))

    def drop_zeros(part: list[int | str]) -> list[int | str]:
        while part and part[-1] == 0:
            part.pop()
        return part

    return drop_zeros(segs[:first_str]) + drop_zeros(segs[first_str:])


def gem_cmp(a: str, b: str) -> int | None:
    """``Gem::Version#<=>``."""
    va, vb = gem_version(a), gem_version(b)
    if va is None or vb is None:
        return None
    if va == vb:
        return 0
    lhs, rhs = gem_canonical(va), gem_canonical(vb)
    if lhs == rhs:
        return 0
    for i in range(max(len(lhs), len(rhs))):
        x = lhs[i] if i < len(lhs) else 0
        y = rhs[i] if i < len(rhs) else 0
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, int):
            return -1
        if isinstance(x, int) and isinstance(y, str):
            return 1
        return (x > y) - (x < y)  # type: ignore[operator]
    return 0


# --------------------------------------------------------------------------------------------
# generators: components, rendered with random spellings, so pairs are often equal or adjacent


def number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        n = str(rng.choice([0, 0, 1, 1, 2, 3, 9, 10, 11]))
    elif r < 0.9:
        n = str(rng.randrange(0, 10**4))
    else:
        n = str(rng.randrange(0, 10 ** rng.randrange(5, 40)))
    return n


def zeros(rng: random.Random, n: str) -> str:
    return "0" * rng.choice([0, 0, 0, 0, 1, 2]) + n


def mutate(rng: random.Random, s: str, alphabet: str) -> str:
    i = rng.randrange(len(s) + 1)
    c = rng.choice(alphabet)
    op = rng.randrange(3)
    if op == 0:
        return s[:i] + c + s[i:]
    if op == 1 and s:
        return s[:i] + s[i + 1 :]
    return s[:i] + c + s[i + 1 :]


def rcase(rng: random.Random, s: str) -> str:
    return "".join(c.upper() if rng.random() < 0.2 else c for c in s)


Pep = tuple[
    str | None,
    list[str],
    tuple[str, str | None] | None,
    tuple[str, str | None] | None,
    str | None,
    list[str] | None,
]


def pep440_components(rng: random.Random) -> Pep:
    epoch = number(rng) if rng.random() < 0.15 else None
    release = [number(rng) for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 6]))]
    pre = None
    if rng.random() < 0.35:
        pre = (rng.choice(["a", "b", "rc"]), number(rng) if rng.random() < 0.8 else None)
    post = None
    if rng.random() < 0.25:
        post = ("post", number(rng) if rng.random() < 0.8 else None)
    dev = number(rng) if rng.random() < 0.25 else None
    local = None
    if rng.random() < 0.2:
        local = [
            rng.choice(["abc", "0", "00", "1", "7", "ubuntu", "Z9", "deadbeef", "a1b"])
            for _ in range(rng.randint(1, 3))
        ]
    return (epoch, release, pre, post, dev, local)


def pep440_render(rng: random.Random, c: Pep) -> str:
    epoch, release, pre, post, dev, local = c
    sep = lambda: rng.choice(["", "", ".", "-", "_"])  # noqa: E731
    s = rng.choice(["", "", "", "", "", "", "", "", "v", "V"])
    if epoch is not None:
        s += zeros(rng, epoch) + "!"
    s += ".".join(zeros(rng, r) for r in release)
    if rng.random() < 0.1:
        s += ".0" * rng.randint(1, 2)
    if pre is not None:
        spell = {"a": ["a", "alpha"], "b": ["b", "beta"], "rc": ["rc", "c", "pre", "preview"]}[pre[0]]
        s += sep() + rcase(rng, rng.choice(spell))
        if pre[1] is not None:
            s += sep() + zeros(rng, pre[1])
        elif rng.random() < 0.3:
            s += sep() + "0"
    if post is not None:
        if post[1] is not None and rng.random() < 0.3:
            s += "-" + zeros(rng, post[1])
        else:
            s += sep() + rcase(rng, rng.choice(["post", "rev", "r"]))
            if post[1] is not None:
                s += sep() + zeros(rng, post[1])
    if dev is not None:
        s += sep() + rcase(rng, "dev")
        if dev != "0" or rng.random() < 0.5:
            s += sep() + zeros(rng, dev)
    if local is not None:
        s += "+" + "".join((rng.choice(".-_") if i else "") + rcase(rng, seg) for i, seg in enumerate(local))
    if rng.random() < 0.03:
        s = rng.choice([" ", "\t", "\u3000", "\x1c", "\n"]) + s + rng.choice(["", " ", "\x85", "\r\n"])
    if rng.random() < 0.08:
        s = mutate(rng, s, ".-_+!vVa1rcpostdevx* ")
    return s


def pep440_near(rng: random.Random, c: Pep) -> Pep:
    epoch, release, pre, post, dev, local = c
    r = rng.randrange(6)
    if r == 0:
        release = [*release[:-1], number(rng)] if rng.random() < 0.5 else [*release, "0"]
    elif r == 1:
        pre = None if pre else ("a", number(rng))
    elif r == 2:
        post = None if post else ("post", number(rng))
    elif r == 3:
        dev = None if dev is not None else number(rng)
    elif r == 4:
        local = None if local else ["1"]
    else:
        epoch = None if epoch else "1"
    return (epoch, release, pre, post, dev, local)


Sem = tuple[str, str, str, list[str] | None, list[str] | None]
IDENTS = [
    "alpha",
    "beta",
    "rc",
    "0",
    "1",
    "2",
    "10",
    "11",
    "a",
    "A",
    "-",
    "x-y",
    "01",
    "1a",
    "9007199254740993",
]


def semver_components(rng: random.Random) -> Sem:
    def num() -> str:
        r = rng.random()
        if r < 0.02:
            return rng.choice(["9007199254740991", "9007199254740992", "01"])
        return str(rng.choice([0, 0, 1, 1, 2, 3, 10, 11, rng.randrange(1000)]))

    pre = [rng.choice(IDENTS) for _ in range(rng.randint(1, 3))] if rng.random() < 0.45 else None
    build = (
        [rng.choice(["b", "001", "sha-1", "x"]) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.2
        else None
    )
    return (num(), num(), num(), pre, build)


def semver_render(rng: random.Random, c: Sem, prefix: str = "") -> str:
    major, minor, patch, pre, build = c
    s = prefix + f"{major}.{minor}.{patch}"
    if pre is not None:
        s += "-" + ".".join(pre)
    if build is not None:
        s += "+" + ".".join(build)
    if rng.random() < 0.08:
        s = mutate(rng, s, ".-+0123vx ")
    return s


def semver_near(rng: random.Random, c: Sem) -> Sem:
    major, minor, patch, pre, build = c
    r = rng.randrange(5)
    if r == 0:
        patch = str(int(patch) + 1) if patch.isdigit() else "1"
    elif r == 1:
        pre = None if pre else ["rc", "1"]
    elif r == 2:
        pre = [*(pre or []), rng.choice(IDENTS)]
    elif r == 3:
        build = ["other"]
    else:
        pre = [rng.choice(IDENTS) for _ in pre] if pre else ["0"]
    return (major, minor, patch, pre, build)


def semver_string(rng: random.Random, c: Sem) -> str:
    prefix = rng.choice(["", "", "", "", "", "", "", "", "", "v", " ", "\u3000"])
    s = semver_render(rng, c, prefix)
    if rng.random() < 0.02:
        s += rng.choice([" ", "\ufeff", "\n"])
    return s


def go_string(rng: random.Random, c: Sem) -> str:
    major, minor, patch, pre, build = c
    r = rng.random()
    if r < 0.08:
        s = f"v{major}"
    elif r < 0.16:
        s = f"v{major}.{minor}"
    elif r < 0.3:
        # pseudo-versions: vX.0.0-yyyymmddhhmmss-hash, vX.Y.(Z+1)-0.yyyymmddhhmmss-hash, vX.Y.Z-pre.0.ts-hash
        day = f"20{rng.randrange(10, 25)}{rng.randrange(1, 13):02}{rng.randrange(1, 29):02}"
        ts = f"{day}{rng.randrange(10**6):06}"
        h = "".join(rng.choice("0123456789abcdef") for _ in range(12))
        s = rng.choice(
            [
                f"v{major}.0.0-{ts}-{h}",
                f"v{major}.{minor}.{int(patch) + 1 if patch.isdigit() else 1}-0.{ts}-{h}",
                f"v{major}.{minor}.{patch}-rc.0.{ts}-{h}",
            ]
        )
    else:
        s = semver_render(rng, (major, minor, patch, pre, build), "v")
    if rng.random() < 0.1:
        s += "+incompatible"
    if rng.random() < 0.03:
        s = s[1:]
    if rng.random() < 0.04:
        s = rng.choice(["v1-pre", "v1.2+meta", "v1.2-pre+meta", "bad", "", " v1.2.3"])
    return s


def gem_components(rng: random.Random) -> list[str]:
    parts = [number(rng)]
    for _ in range(rng.randint(0, 4)):
        parts.append(
            rng.choice([number(rng), number(rng), "0", "a", "b", "pre", "rc", "x", "B", "alpha", "b1", "1a"])
        )
    return parts


def gem_render(rng: random.Random, parts: list[str]) -> str:
    s = ".".join(zeros(rng, p) if p.isdigit() else p for p in parts)
    if rng.random() < 0.15:
        s += "-" + ".".join(rng.choice(["1", "alpha", "rc-1", "0", "b"]) for _ in range(rng.randint(1, 2)))
    if rng.random() < 0.1:
        s += ".0" * rng.randint(1, 3)
    if rng.random() < 0.03:
        s = rng.choice([" ", "\t", "\n"]) + s + rng.choice(["", " ", "\n"])
    if rng.random() < 0.02:
        s = rng.choice(["", "  "])
    if rng.random() < 0.07:
        s = mutate(rng, s, ".-+0a ")
    return s


def gem_near(rng: random.Random, parts: list[str]) -> list[str]:
    parts = list(parts)
    r = rng.randrange(4)
    if r == 0:
        parts.append(rng.choice(["0", "a", "1"]))
    elif r == 1 and len(parts) > 1:
        parts.pop()
    elif r == 2:
        parts.insert(rng.randrange(1, len(parts) + 1), "0")
    else:
        parts[-1] = rng.choice(["0", "1", "a", "z"])
    return parts


# scheme name -> (components, render, near, oracle)
Scheme = tuple[
    Callable[[random.Random], object],
    Callable[[random.Random, object], str],
    Callable[[random.Random, object], object],
    Callable[[str, str], int | None],
]
SCHEMES: dict[str, Scheme] = {
    "pep440": (pep440_components, pep440_render, pep440_near, pep440_cmp),  # type: ignore[dict-item]
    "semver": (semver_components, semver_string, semver_near, semver_cmp),  # type: ignore[dict-item]
    "go": (semver_components, go_string, semver_near, go_cmp),  # type: ignore[dict-item]
    "gem": (gem_components, gem_render, gem_near, gem_cmp),  # type: ignore[dict-item]
}


def pair(rng: random.Random, scheme: str) -> tuple[str, str]:
    components, render, near, _ = SCHEMES[scheme]
    c1 = components(rng)
    r = rng.random()
    c2 = c1 if r < 0.3 else near(rng, c1) if r < 0.8 else components(rng)
    return render(rng, c1), render(rng, c2)


def check(scheme: str, pairs: list[tuple[str, str]], oracle: Callable[[str, str], int | None]) -> int:
    """Compares hullscan with the oracle on every pair; returns how many pairs were valid."""
    got = _core.version_compare_many(scheme, pairs)
    bad = [(a, b, g, oracle(a, b)) for (a, b), g in zip(pairs, got, strict=True) if g != oracle(a, b)]
    assert not bad, f"{len(bad)} disagreements with the oracle, first: {bad[:10]}"
    return sum(g is not None for g in got)


# --------------------------------------------------------------------------------------------
# differential tests on generated pairs


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_generated_pairs_agree_with_oracle(scheme: str) -> None:
    rng = random.Random(f"hullscan-{scheme}")
    pairs = [pair(rng, scheme) for _ in range(PAIRS)]
    valid = check(scheme, pairs, SCHEMES[scheme][3])
    # the generator must exercise both valid and invalid input, and many equal pairs
    assert valid > PAIRS * 0.6, valid
    assert valid < PAIRS
    equal = sum(c == 0 for c in _core.version_compare_many(scheme, pairs))
    assert equal > PAIRS * 0.1, equal


# --------------------------------------------------------------------------------------------
# every version string of the OSV advisories


def osv_versions(data_dir: Path, ecosystem: str) -> list[str]:
    out: set[str] = set()
    with zipfile.ZipFile(data_dir / "advisories" / "osv" / ecosystem / "all.zip") as z:
        for name in z.namelist():
            record = json.loads(z.read(name))
            for affected in record.get("affected", []):
                for r in affected.get("ranges", []):
                    if r.get("type") == "GIT":
                        continue  # commit hashes, not versions
                    for event in r.get("events", []):
                        out.update(
                            v
                            for k, v in event.items()
                            if k in ("introduced", "fixed", "last_affected", "limit")
                        )
                out.update(affected.get("versions") or [])
    assert out, ecosystem
    return sorted(out)


def all_against_all_sample(values: list[str], seed: str) -> list[tuple[str, str]]:
    """Each value with itself, with its neighbours in a shuffled order and with five random others."""
    rng = random.Random(seed)
    shuffled = values[:]
    rng.shuffle(shuffled)
    pairs = [(v, v) for v in values]
    pairs += list(itertools.pairwise(shuffled))
    pairs += [(v, rng.choice(values)) for v in values for _ in range(5)]
    return pairs


@pytest.mark.parametrize(
    ("ecosystem", "scheme", "prefix"),
    [("PyPI", "pep440", ""), ("npm", "semver", ""), ("crates.io", "semver", ""), ("Go", "go", "v")],
)
def test_osv_versions_agree_with_oracle(data_dir: Path, ecosystem: str, scheme: str, prefix: str) -> None:
    # OSV writes Go versions without the "v" that Go module versions carry
    values = [prefix + v for v in osv_versions(data_dir, ecosystem)]
    valid = check(scheme, all_against_all_sample(values, ecosystem), SCHEMES[scheme][3])
    assert valid > len(values)


def test_osv_versions_sort_like_the_oracle(data_dir: Path) -> None:
    """Sorting by hullscan's keys gives the oracle's order (PyPI: packaging's)."""
    values = [v for v in osv_versions(data_dir, "PyPI") if pep440_parse(v) is not None]
    by_key = sorted(values, key=lambda v: versions.key("pep440", v))
    by_oracle = sorted(values, key=lambda v: (pep440_parse(v), v))
    for a, b in itertools.pairwise(by_key):
        assert pep440_parse(a) <= pep440_parse(b), (a, b)  # type: ignore[operator]
    assert [pep440_parse(v) for v in by_key] == [pep440_parse(v) for v in by_oracle]


# --------------------------------------------------------------------------------------------
# PEP 440 specifiers against packaging


def specifier(rng: random.Random) -> str:
    def one() -> str:
        op = rng.choice(["==", "!=", "<=", ">=", "<", ">", "~=", "===", "=="])
        c = pep440_components(rng)
        v = pep440_render(rng, c).strip()
        if op in ("==", "!=") and rng.random() < 0.3:
            v = ".".join(c[1]) + ".*"
        return op + rng.choice(["", "", " "]) + v

    return ",".join(one() for _ in range(rng.choice([1, 1, 2, 3])))


def packaging_contains(version: str, spec: str) -> bool | str:
    try:
        s = SpecifierSet(spec)
    except InvalidSpecifier:
        return "error"
    return s.contains(version, prereleases=True)


def hullscan_contains(version: str, spec: str) -> bool | str:
    try:
        return versions.satisfies_native("pep440", version, spec)
    except InvalidVersionError:
        return "error"


def test_pep440_specifiers_agree_with_packaging() -> None:
    rng = random.Random("hullscan-pep440-specifiers")
    checked = 0
    for _ in range(25_000):
        c = pep440_components(rng)
        v = pep440_render(rng, rng.choice([c, pep440_near(rng, c)]))
        spec = specifier(rng)
        want = packaging_contains(v, spec)
        if pep440_parse(v) is None and "===" not in spec and want != "error":
            # hullscan reports an invalid version as an error where packaging answers False
            assert hullscan_contains(v, spec) == "error", (v, spec)
            continue
        assert hullscan_contains(v, spec) == want, (v, spec, want)
        checked += 1
    assert checked > 15_000


# --------------------------------------------------------------------------------------------
# properties: antisymmetry, transitivity, equal keys <=> equal versions


def cmp3(scheme: str, a: str, b: str, c: str) -> None:
    got = _core.version_compare_many(scheme, [(a, b), (b, a), (b, c), (a, c), (c, a)])
    ab, ba, bc, ac, ca = got
    if None in got:
        return
    assert ab == -ba
    assert ac == -ca
    if ab <= 0 and bc <= 0:  # type: ignore[operator]
        assert ac <= 0  # type: ignore[operator]
    if ab == 0 and bc == 0:
        assert ac == 0
    ka, kb = versions.key(scheme, a), versions.key(scheme, b)
    assert (ka == kb) == (ab == 0)
    assert sign((ka > kb) - (ka < kb)) == ab == versions.compare(scheme, a, b)
    assert ab == SCHEMES[scheme][3](a, b)


PROPERTY_SETTINGS = settings(
    derandomize=True, max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@PROPERTY_SETTINGS
@given(rnd=st.randoms(use_true_random=False))
def test_order_properties(scheme: str, rnd: random.Random) -> None:
    components, render, near, _ = SCHEMES[scheme]
    c1 = components(rnd)
    c2 = near(rnd, c1)
    c3 = near(rnd, c2) if rnd.random() < 0.7 else c1
    cmp3(scheme, render(rnd, c1), render(rnd, c2), render(rnd, c3))


# --------------------------------------------------------------------------------------------
# invalid input: InvalidVersionError, never a panic

INVALID = {
    "pep440": ["", "1.0-", "1.0.", "1!", "français", "1.0+", "1..0", "1.0+a..b", "==1.0"],
    "semver": [
        "",
        "1.2",
        "01.2.3",
        "1.2.3-01",
        "=1.2.3",
        "1.2.3.4",
        "9007199254740992.0.0",
        "1." * 200 + "1",
    ],
    "go": ["", "1.2.3", "v1-pre", "v1.2+meta", "v01.2.3", "v1.2.3-", "bad", " v1.2.3"],
    "gem": ["1.0-", "a", "1..0", "1.0 x", "-1", "1.0+b", "1,0"],
}


@pytest.mark.parametrize("scheme", sorted(INVALID))
def test_invalid_versions_raise(scheme: str) -> None:
    for v in INVALID[scheme]:
        with pytest.raises(InvalidVersionError):
            versions.key(scheme, v)
        with pytest.raises(InvalidVersionError):
            versions.compare(scheme, v, v)
    assert all(c is None for c in _core.version_compare_many(scheme, [(v, v) for v in INVALID[scheme]]))


INVALID_RANGES = {
    "pep440": ["~=1", ">=1.0+local", "==1.0a1.*", "=>1.0", "1.0", ">=1.0,,<=x"],
    "semver": ["blerg", ">=", "1.x.5", "x.1", ">=1.2.3 || nope"],
    "go": ["", ">=", ">= bad", "=> v1.0.0", ">= v1.0.0 <"],
    "gem": ["", "~>", ">= 1.0,", "=> 1.0", "~> a"],
}


@pytest.mark.parametrize("scheme", sorted(INVALID_RANGES))
def test_invalid_ranges_raise(scheme: str) -> None:
    version = {"pep440": "1.0", "semver": "1.0.0", "go": "v1.0.0", "gem": "1.0"}[scheme]
    for r in INVALID_RANGES[scheme]:
        with pytest.raises(InvalidVersionError):
            versions.satisfies_native(scheme, version, r)


HOSTILE = [
    "9" * 300,
    "1." + "9" * 300,
    "v1.2." + "9" * 300,
    "1.0.0-" + "9" * 300,
    "1.0+" + "9" * 300,
    "1" + ".0" * 100_000,
    "\x00",
    "1.0\x00",
    "\ud7ff\U0010ffff",
    "1.0a" + "-" * 1000,
    "1.0.0-" + "a." * 2000 + "a",
    # within the 1024-character range limit: worst cases for node-semver's backtracking rewrites
    "= " * 511,
    "=v " * 341,
    "v" * 1000,
    "1.0.0-" + "a." * 400,
    "1 - " * 250,
    "~" * 1000,
]


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_hostile_input_never_panics(scheme: str) -> None:
    for s in HOSTILE:
        with contextlib.suppress(InvalidVersionError):
            versions.key(scheme, s)
        for r in [s, ">=" + s, "^" + s, "~> " + s, s + " - " + s, "||".join([s] * 3)]:
            with contextlib.suppress(InvalidVersionError):
                versions.satisfies_native(scheme, "1.0.0", r)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("0123456789.-+_!~^<>=*xXvV |,abrcpostdev \t\u3000"), max_size=30)
    | st.text(max_size=20)
)
def test_arbitrary_text_is_a_version_or_an_error(scheme: str, text: str) -> None:
    try:
        k = versions.key(scheme, text)
        assert isinstance(k, bytes)
    except InvalidVersionError:
        pass
    for v in ("1.0.0", "v1.0.0", "1.0", text):
        with contextlib.suppress(InvalidVersionError):
            assert isinstance(versions.satisfies_native(scheme, v, text), bool)


def test_oracles_have_teeth() -> None:
    """The oracles themselves against a few facts from the specs (so a broken oracle cannot
    agree with a broken implementation)."""
    facts: Iterable[tuple[Callable[[str, str], int | None], str, str, int | None]] = [
        (semver_cmp, "1.0.0-alpha", "1.0.0-alpha.1", -1),
        (semver_cmp, "1.0.0-alpha.beta", "1.0.0-beta", -1),
        (semver_cmp, "1.0.0-beta.11", "1.0.0-rc.1", -1),
        (semver_cmp, "1.0.0-rc.1", "1.0.0", -1),
        (semver_cmp, "1.0.0+a", "1.0.0+b", 0),
        (semver_cmp, "1.0.0", "1.0", None),
        (go_cmp, "v1", "v1.0.0", 0),
        (go_cmp, "v1.2-pre", "v1.2.0", None),
        (go_cmp, "v1.10.0", "v1.9.0", 1),
        (gem_cmp, "1.0.0-alpha", "1", -1),
        (gem_cmp, "0.beta.1", "0.0.beta.1", 0),
        (gem_cmp, "5.x", "5.0.0.rc2", 1),
        (gem_cmp, "", "0", 0),
        (pep440_cmp, "1.0.dev0", "1.0a0", -1),
        (pep440_cmp, "1.0+abc.5", "1.0+5", -1),
    ]
    for oracle, a, b, want in facts:
        assert oracle(a, b) == want, (a, b)
