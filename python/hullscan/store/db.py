"""The inventory store: each scanned image's inventory, keyed by digest, in SQLite or PostgreSQL.

One code path (SQLAlchemy 2 Core) for both: ``InventoryStore()`` opens ``<cache>/inventories.db``
(SQLite, WAL mode); ``InventoryStore("postgresql+psycopg://...")`` a shared database for a team.

Tables (schema version :data:`SCHEMA_VERSION`, in ``meta``)::

    images       digest PK, repository, tags (JSON), source, platform, pushed_at, last_pulled_at,
                 scanned_at, package_count, inventory_sha256
    inventories  digest PK, data (zstd JSON of Inventory.to_dict()),
                 queries (zstd text: the match queries and package refs, see hullscan.store.compact)
    findings     digest PK, db_generation, matched_at, count, data (zstd JSON of StoredFinding rows)

Every write is an upsert keyed by digest (``INSERT ... ON CONFLICT (digest) DO UPDATE``), so
workers writing the same image concurrently leave exactly one row per digest, and a rewrite of the
same inventory is a no-op in effect. Rescans read ``queries`` and ``findings`` only, in batches
ordered by digest (keyset pagination: a batch costs the same at any depth).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zstandard

from hullscan.cache import cache_dir as resolve_cache_dir
from hullscan.cache import ensure_dir
from hullscan.errors import StoreError
from hullscan.model import (
    INVENTORY_SCHEMA_VERSION,
    ConfigFinding,
    Distro,
    ImageConfig,
    Inventory,
    Layer,
    Package,
)
from hullscan.store.compact import CompactQueries, compact_queries

SCHEMA_VERSION = 1
DEFAULT_FILE = "inventories.db"
ZSTD_LEVEL = 3
#: The PostgreSQL advisory lock key held while a store creates its tables.
_SETUP_LOCK = 0x68756C6C73636E  # 'hullscn'

# zstd contexts are not thread-safe: one pair per thread.
_LOCAL = threading.local()


def _cctx() -> zstandard.ZstdCompressor:
    c = getattr(_LOCAL, "c", None)
    if c is None:
        c = _LOCAL.c = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return c


def _dctx() -> zstandard.ZstdDecompressor:
    d = getattr(_LOCAL, "d", None)
    if d is None:
        d = _LOCAL.d = zstandard.ZstdDecompressor()
    return d


def pack(doc: Any) -> bytes:
    """zstd-compressed compact JSON."""
    return _cctx().compress(json.dumps(doc, separators=(",", ":")).encode())


def unpack(data: bytes) -> Any:
    try:
        return json.loads(_dctx().decompress(data))
    except (zstandard.ZstdError, ValueError) as e:
        raise StoreError(f"a stored row is corrupt: {e}") from e


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str | None) -> datetime | None:
    if not s:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image to store: its inventory and where it came from."""

    digest: str
    inventory: Inventory
    #: The compact match queries (``hullscan.store.compact.compact_queries(inventory)``).
    queries: CompactQueries
    repository: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    pushed_at: datetime | None = None
    last_pulled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image's row in the store (no inventory: :meth:`InventoryStore.inventory` reads it)."""

    digest: str
    repository: str
    tags: tuple[str, ...]
    source: str
    platform: str | None
    pushed_at: datetime | None
    last_pulled_at: datetime | None
    scanned_at: datetime | None
    package_count: int
    #: The advisory database generation the stored findings were matched against (None: never).
    db_generation: str | None
    matched_at: datetime | None
    finding_count: int | None


@dataclass(frozen=True, slots=True)
class MatchRow:
    """What a rescan reads of one image: its compact queries and its last findings."""

    digest: str
    repository: str
    tags: tuple[str, ...]
    queries: bytes
    findings: bytes | None
    db_generation: str | None


_PKG_FIELDS = tuple(f.name for f in dataclasses.fields(Package))
_LAYER_FIELDS = tuple(f.name for f in dataclasses.fields(Layer))
_DISTRO_FIELDS = tuple(f.name for f in dataclasses.fields(Distro))


def inventory_doc(inv: Inventory) -> dict[str, Any]:
    """:meth:`Inventory.to_dict`'s document, made without ``dataclasses.asdict``'s deep copies
    (30x faster; the store writes thousands)."""

    def flat(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
        return {n: getattr(obj, n) for n in names}

    pkgs = []
    for p in inv.packages:
        d = flat(p, _PKG_FIELDS)
        d["locations"] = list(p.locations)
        pkgs.append(d)
    return {
        "source": inv.source,
        "source_type": inv.source_type,
        "distro": flat(inv.distro, _DISTRO_FIELDS) if inv.distro is not None else None,
        "layers": [flat(x, _LAYER_FIELDS) for x in inv.layers],
        "packages": pkgs,
        "warnings": list(inv.warnings),
        "manifest_digest": inv.manifest_digest,
        "config_digest": inv.config_digest,
        "platform": inv.platform,
        "repo_tags": list(inv.repo_tags),
        "config": asdict(inv.config) if inv.config is not None else None,
        "config_findings": [asdict(c) for c in inv.config_findings],
        "schema_version": INVENTORY_SCHEMA_VERSION,
    }


def inventory_from_dict(d: dict[str, Any]) -> Inventory:
    """The inverse of :meth:`Inventory.to_dict`."""
    distro = Distro(**d["distro"]) if d.get("distro") else None
    layers = tuple(Layer(**x) for x in d.get("layers") or ())
    packages = tuple(Package(**{**p, "locations": tuple(p.get("locations") or ())}) for p in d["packages"])
    return Inventory(
        source=d["source"],
        source_type=d["source_type"],
        distro=distro,
        layers=layers,
        packages=packages,
        warnings=tuple(d.get("warnings") or ()),
        manifest_digest=d.get("manifest_digest"),
        config_digest=d.get("config_digest"),
        platform=d.get("platform"),
        repo_tags=tuple(d.get("repo_tags") or ()),
        config=_image_config(d.get("config")),
        config_findings=tuple(
            ConfigFinding(**{**c, "references": tuple(c.get("references") or ())})
            for c in d.get("config_findings") or ()
        ),
    )


def _image_config(d: dict[str, Any] | None) -> ImageConfig | None:
    if not d:
        return None
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    return ImageConfig(**fields)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


class InventoryStore:
    """Stored inventories and findings; see the module docstring for the schema.

    ``location``: a SQLAlchemy URL (``sqlite:///PATH``, ``postgresql+psycopg://...``), a file path
    (SQLite), or None for ``<cache_dir>/inventories.db``. Thread-safe (a connection pool); use one
    store per process and share it.
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        import sqlalchemy as sa

        if location is None:
            path = ensure_dir(resolve_cache_dir(cache_dir)) / DEFAULT_FILE
            url = f"sqlite:///{path}"
        else:
            text = os.fspath(location)
            if "://" in text:
                url = text
            else:
                path = Path(text)
                if path.parent != Path(""):
                    ensure_dir(path.parent)
                url = f"sqlite:///{path}"
        self.url = _redacted(url)
        try:
            backend = sa.engine.make_url(url).get_backend_name()
        except sa.exc.ArgumentError as e:
            raise StoreError(f"{self.url} is not a database URL") from e
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(f"the inventory store supports SQLite and PostgreSQL, not {backend}")
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
            hint = " (pip install 'hullscan[postgres]')" if backend == "postgresql" else ""
            raise StoreError(f"cannot open the inventory store {self.url}: {type(e).__name__}{hint}") from e
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        md = sa.MetaData()
        self.t_meta = sa.Table(
            "meta",
            md,
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
        self.t_images = sa.Table(
            "images",
            md,
            sa.Column("digest", sa.Text, primary_key=True),
            sa.Column("repository", sa.Text, nullable=False, default=""),
            sa.Column("tags", sa.Text, nullable=False, default="[]"),
            sa.Column("source", sa.Text, nullable=False, default=""),
            sa.Column("platform", sa.Text),
            sa.Column("pushed_at", sa.Text),
            sa.Column("last_pulled_at", sa.Text),
            sa.Column("scanned_at", sa.Text),
            sa.Column("package_count", sa.Integer, nullable=False, default=0),
            sa.Column("inventory_sha256", sa.Text, nullable=False),
            sa.Index("images_repository", "repository"),
        )
        self.t_inventories = sa.Table(
            "inventories",
            md,
            sa.Column("digest", sa.Text, primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Column("queries", sa.LargeBinary, nullable=False),
        )
        self.t_findings = sa.Table(
            "findings",
            md,
            sa.Column("digest", sa.Text, primary_key=True),
            sa.Column("db_generation", sa.Text, nullable=False),
            sa.Column("matched_at", sa.Text, nullable=False),
            sa.Column("count", sa.Integer, nullable=False),
            sa.Column("data", sa.LargeBinary, nullable=False),
        )
        self._md = md
        self._sa = sa
        self._setup()

    # -- plumbing --

    def _fail(self, what: str, e: Exception) -> StoreError:
        orig = getattr(e, "orig", None) or e
        detail = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
        return StoreError(f"inventory store {self.url}: {what} failed: {detail}")

    def _setup(self) -> None:
        sa = self._sa
        try:
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    # Workers opening a new database at once would race to create the tables
                    # (CREATE TABLE is not idempotent under concurrency): one at a time.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SETUP_LOCK})
                self._md.create_all(conn, checkfirst=True)
                ins = self._insert(self.t_meta).values(key="schema_version", value=str(SCHEMA_VERSION))
                conn.execute(ins.on_conflict_do_nothing(index_elements=["key"]))
                found = conn.execute(
                    sa.select(self.t_meta.c.value).where(self.t_meta.c.key == "schema_version")
                ).scalar_one()
        except sa.exc.SQLAlchemyError as e:
            raise self._fail("opening", e) from e
        if int(found) > SCHEMA_VERSION:
            raise StoreError(
                f"inventory store {self.url} has schema version {found}; this hullscan reads up to "
                f"{SCHEMA_VERSION}: upgrade hullscan"
            )

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def _upsert(self, conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = self._insert(table)
        cols = [c for c in rows[0] if c != "digest"]
        stmt = stmt.on_conflict_do_update(
            index_elements=["digest"], set_={c: getattr(stmt.excluded, c) for c in cols}
        )
        conn.execute(stmt, rows)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> InventoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<InventoryStore {self.url}>"

    # -- writing --

    def put(
        self,
        inv: Inventory,
        *,
        digest: str | None = None,
        repository: str = "",
        tags: Sequence[str] = (),
        source: str = "",
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
        os_owned: bool = False,
    ) -> str:
        """Store (or replace) one image's inventory; returns its digest (``digest``, else the
        inventory's manifest digest). Its stored findings are kept until the next match."""
        key = digest or inv.manifest_digest
        if not key:
            raise StoreError(f"{inv.source}: no manifest digest to store the inventory under")
        rec = ImageRecord(
            key,
            inv,
            compact_queries(inv, os_owned=os_owned),
            repository,
            tuple(tags),
            source or inv.source,
            pushed_at,
            last_pulled_at,
        )
        self.put_many([rec])
        return key

    def put_many(self, records: Iterable[ImageRecord]) -> int:
        """Upsert many images in one transaction; returns how many (distinct digests: of one
        digest given twice, the last wins). Rows are written in digest order, so concurrent
        writers take row locks in the same order and cannot deadlock each other."""
        images: list[dict[str, Any]] = []
        invs: list[dict[str, Any]] = []
        scanned = iso(now())
        unique = {r.digest: r for r in records}
        for _, r in sorted(unique.items()):
            data = json.dumps(inventory_doc(r.inventory), separators=(",", ":")).encode()
            images.append(
                {
                    "digest": r.digest,
                    "repository": r.repository,
                    "tags": json.dumps(sorted(set(r.tags))),
                    "source": r.source,
                    "platform": r.inventory.platform,
                    "pushed_at": iso(r.pushed_at) if r.pushed_at else None,
                    "last_pulled_at": iso(r.last_pulled_at) if r.last_pulled_at else None,
                    "scanned_at": scanned,
                    "package_count": len(r.inventory.packages),
                    "inventory_sha256": hashlib.sha256(data).hexdigest(),
                }
            )
            invs.append({"digest": r.digest, "data": _cctx().compress(data), "queries": r.queries.encode()})
        try:
            with self.engine.begin() as conn:
                self._upsert(conn, self.t_images, images)
                self._upsert(conn, self.t_inventories, invs)
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("storing inventories", e) from e
        return len(images)

    def update_image(
        self,
        digest: str,
        *,
        repository: str | None = None,
        tags: Sequence[str] | None = None,
        pushed_at: datetime | None = None,
        last_pulled_at: datetime | None = None,
    ) -> None:
        """Refresh what discovery says of an image already stored (no inventory rewrite)."""
        values: dict[str, Any] = {}
        if repository is not None:
            values["repository"] = repository
        if tags is not None:
            values["tags"] = json.dumps(sorted(set(tags)))
        if pushed_at is not None:
            values["pushed_at"] = iso(pushed_at)
        if last_pulled_at is not None:
            values["last_pulled_at"] = iso(last_pulled_at)
        if not values:
            return
        t = self.t_images
        try:
            with self.engine.begin() as conn:
                conn.execute(t.update().where(t.c.digest == digest).values(**values))
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("updating an image", e) from e

    def save_findings(self, rows: Sequence[tuple[str, str, int, bytes]]) -> None:
        """Upsert (digest, db_generation, count, packed findings) rows in one transaction."""
        matched = iso(now())
        unique = {d: (g, n, data) for d, g, n, data in rows}
        dicts = [
            {"digest": d, "db_generation": g, "matched_at": matched, "count": n, "data": data}
            for d, (g, n, data) in sorted(unique.items())
        ]
        try:
            with self.engine.begin() as conn:
                self._upsert(conn, self.t_findings, dicts)
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("storing findings", e) from e

    def delete(self, digest: str) -> bool:
        """Remove an image; True if it was stored."""
        try:
            with self.engine.begin() as conn:
                for t in (self.t_findings, self.t_inventories):
                    conn.execute(t.delete().where(t.c.digest == digest))
                n = conn.execute(self.t_images.delete().where(self.t_images.c.digest == digest)).rowcount
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("deleting an image", e) from e
        return bool(n)

    # -- reading --

    def count(self) -> int:
        sa = self._sa
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.count()).select_from(self.t_images)).scalar_one())
        except sa.exc.SQLAlchemyError as e:
            raise self._fail("counting images", e) from e

    def _image_query(self) -> Any:
        sa, i, f = self._sa, self.t_images, self.t_findings
        return sa.select(
            i.c.digest,
            i.c.repository,
            i.c.tags,
            i.c.source,
            i.c.platform,
            i.c.pushed_at,
            i.c.last_pulled_at,
            i.c.scanned_at,
            i.c.package_count,
            f.c.db_generation,
            f.c.matched_at,
            f.c.count,
        ).select_from(i.outerjoin(f, i.c.digest == f.c.digest))

    @staticmethod
    def _image(row: Any) -> StoredImage:
        return StoredImage(
            digest=row.digest,
            repository=row.repository,
            tags=tuple(json.loads(row.tags)),
            source=row.source,
            platform=row.platform,
            pushed_at=parse_time(row.pushed_at),
            last_pulled_at=parse_time(row.last_pulled_at),
            scanned_at=parse_time(row.scanned_at),
            package_count=row.package_count,
            db_generation=row.db_generation,
            matched_at=parse_time(row.matched_at),
            finding_count=row.count,
        )

    def get(self, digest: str) -> StoredImage | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(self._image_query().where(self.t_images.c.digest == digest)).first()
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("reading an image", e) from e
        return None if row is None else self._image(row)

    def images(self, digests: Iterable[str] | None = None) -> list[StoredImage]:
        """Every stored image (or those of ``digests``), by digest."""
        q = self._image_query().order_by(self.t_images.c.digest)
        if digests is not None:
            q = q.where(self.t_images.c.digest.in_(list(digests)))
        try:
            with self.engine.connect() as conn:
                return [self._image(r) for r in conn.execute(q)]
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("listing images", e) from e

    def inventory(self, digest: str) -> Inventory:
        """The stored inventory of ``digest`` (:class:`StoreError` if none)."""
        t = self.t_inventories
        try:
            with self.engine.connect() as conn:
                data = conn.execute(self._sa.select(t.c.data).where(t.c.digest == digest)).scalar()
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("reading an inventory", e) from e
        if data is None:
            raise StoreError(f"no inventory stored for {digest}")
        return inventory_from_dict(unpack(data))

    def findings(self, digest: str) -> list[Any]:
        """The stored findings of ``digest`` (:class:`hullscan.store.matching.StoredFinding`)."""
        from hullscan.store.matching import unpack_findings

        t = self.t_findings
        try:
            with self.engine.connect() as conn:
                data = conn.execute(self._sa.select(t.c.data).where(t.c.digest == digest)).scalar()
        except self._sa.exc.SQLAlchemyError as e:
            raise self._fail("reading findings", e) from e
        return [] if data is None else unpack_findings(data)

    def digest_batches(self, batch_size: int = 2000) -> Iterator[list[str]]:
        """Every stored digest, ``batch_size`` at a time in digest order (keyset pagination): how
        fleet rematches split the store into units."""
        if batch_size < 1:
            raise StoreError("batch_size must be at least 1")
        sa, i = self._sa, self.t_images
        last = ""
        while True:
            stmt = sa.select(i.c.digest).where(i.c.digest > last).order_by(i.c.digest).limit(batch_size)
            try:
                with self.engine.connect() as conn:
                    rows = list(conn.execute(stmt).scalars())
            except sa.exc.SQLAlchemyError as e:
                raise self._fail("listing digests", e) from e
            if rows:
                yield rows
                last = rows[-1]
            if len(rows) < batch_size:
                return

    def match_batches(
        self, batch_size: int = 2000, *, digests: Sequence[str] | None = None
    ) -> Iterator[list[MatchRow]]:
        """The compact queries and last findings of every image (or of ``digests``), ``batch_size``
        at a time in digest order; each batch is read in its own short transaction (keyset
        pagination), so writers are never blocked for a whole rescan."""
        if batch_size < 1:
            raise StoreError("batch_size must be at least 1")
        sa, i, q, f = self._sa, self.t_images, self.t_inventories, self.t_findings
        base = sa.select(
            i.c.digest, i.c.repository, i.c.tags, q.c.queries, f.c.data, f.c.db_generation
        ).select_from(i.join(q, i.c.digest == q.c.digest).outerjoin(f, i.c.digest == f.c.digest))
        wanted = sorted(set(digests)) if digests is not None else None
        last = ""
        pos = 0
        while True:
            stmt = base.order_by(i.c.digest).limit(batch_size)
            if wanted is not None:
                chunk = wanted[pos : pos + batch_size]
                if not chunk:
                    return
                pos += batch_size
                stmt = stmt.where(i.c.digest.in_(chunk))
            else:
                stmt = stmt.where(i.c.digest > last)
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(stmt).all()
            except sa.exc.SQLAlchemyError as e:
                raise self._fail("reading inventories", e) from e
            if rows:
                yield [
                    MatchRow(
                        r.digest, r.repository, tuple(json.loads(r.tags)), r.queries, r.data, r.db_generation
                    )
                    for r in rows
                ]
                last = rows[-1].digest
            if wanted is None and len(rows) < batch_size:
                return


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def open_store(
    store: InventoryStore | str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> InventoryStore:
    """``store`` if it is one, else the store at that URL / path (default: the cache dir's)."""
    if isinstance(store, InventoryStore):
        return store
    if store is None:
        env = os.environ.get("HULLSCAN_STORE")
        store = env or None
    return InventoryStore(store, cache_dir=cache_dir)


__all__ = [
    "DEFAULT_FILE",
    "SCHEMA_VERSION",
    "ImageRecord",
    "InventoryStore",
    "MatchRow",
    "StoredImage",
    "inventory_from_dict",
    "open_store",
]
