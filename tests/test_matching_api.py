"""The matcher's Python boundary: plain and prepared queries agree, hits are a lazy sequence,
bad queries are typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hullscan import _core
from hullscan import db as adb


@pytest.fixture
def index(data_dir: Path, isolated_cache: Path) -> _core.AdvisoryIndex:
    with adb.import_paths([data_dir / "advisories/osv/PyPI/all.zip"], cache_dir=isolated_cache) as db:
        return _core.AdvisoryIndex.load(db.path / "index.bin")


QUERIES = [
    ("PyPI", "requests", "2.19.1"),
    ("PyPI", "Django", "3.2"),
    ("PyPI", "jinja2", "2.10"),
    ("PyPI", "urllib3", "1.24.1"),
    ("PyPI", "requests", "99.0"),
    ("PyPI", "no-such-package", "1.0"),
    ("PyPI", "requests", "not a version!"),
    ("npm", "requests", "1.0.0"),
]


def test_prepared_and_plain_queries_agree(index: _core.AdvisoryIndex) -> None:
    hits, warnings = index.match_packages(QUERIES)
    prepared = _core.prepare_queries(QUERIES)
    assert len(prepared) == len(QUERIES)
    phits, pwarnings = index.match_prepared(prepared)
    assert hits.pairs() == phits.pairs()
    assert warnings == pwarnings
    assert [q for q, _ in warnings] == [6]
    by_query = {q for q, _ in hits.pairs()}
    assert by_query == {0, 1, 2, 3}
    # The sequence: length, indexing from both ends, iteration, and the same texts either way.
    assert len(hits) == len(list(hits)) > 10
    first, last = hits[0], hits[-1]
    assert (first.query, first.advisory) == hits.pairs()[0]
    assert (last.query, last.advisory) == hits.pairs()[-1]
    with pytest.raises(IndexError):
        hits[len(hits)]
    for a, b in zip(hits, phits, strict=True):
        assert (a.introduced, a.closer, a.closer_kind, a.listed, a.fixed, a.range_type) == (
            b.introduced,
            b.closer,
            b.closer_kind,
            b.listed,
            b.fixed,
            b.range_type,
        )
        adv = json.loads(index.advisory(a.advisory))
        assert adv["id"]
    # A requests 2.19.1 hit explains itself.
    req = [h for h in hits if h.query == 0]
    assert all(h.scheme == "pep440" for h in req)
    assert any(h.closer_kind == "fixed" and h.closer == "2.20.0" for h in req)


def test_bad_queries_are_type_errors(index: _core.AdvisoryIndex) -> None:
    for bad in ([("PyPI", "requests")], [("PyPI", "requests", 2)], [["PyPI", "requests", "1.0"]], [None], 5):
        with pytest.raises(TypeError):
            index.match_packages(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            _core.prepare_queries(bad)  # type: ignore[arg-type]
    # Any iterable of tuples will do.
    hits, _ = index.match_packages(iter(QUERIES[:1]))
    assert len(hits) > 0
