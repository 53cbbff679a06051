"""The ratings store: one SQLite file in WAL mode.

Every write is one short ``BEGIN IMMEDIATE`` transaction committed with ``synchronous=FULL``: once the server has
answered a rating, it is on disk and survives a kill of the server. One rating per (rater, item) is enforced by the
primary key, so a double-submitted form updates the same row instead of adding one.

Raters and the admin reach the app only through secret links; the database keeps only SHA-256 hashes of those
secrets. Items are handed out lazily: when a rater asks for their next item, they claim the first open item in
their own random order (a per-rater salted hash of the item's opaque id), an item being open while fewer than its
``overlap`` raters hold it. A skipped item frees its place for another rater.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psychosafe.errors import UserError
from psychosafe.rubric import BINARY_KEYS, RUBRIC_KEYS

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    uid TEXT UNIQUE NOT NULL,
    item_key TEXT UNIQUE NOT NULL,
    source_id TEXT NOT NULL,
    condition TEXT,
    model TEXT,
    kind TEXT NOT NULL,
    domain TEXT,
    locale TEXT,
    messages TEXT NOT NULL,
    response TEXT NOT NULL,
    overlap INTEGER NOT NULL CHECK (overlap >= 1),
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS raters (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    token_hash TEXT UNIQUE NOT NULL,
    salt TEXT NOT NULL,
    created_at TEXT NOT NULL,
    consented_at TEXT
);
CREATE TABLE IF NOT EXISTS assignments (
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    position INTEGER NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (rater_id, item_id),
    UNIQUE (rater_id, position)
);
CREATE TABLE IF NOT EXISTS ratings (
    rater_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    scores TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (rater_id, item_id),
    FOREIGN KEY (rater_id, item_id) REFERENCES assignments(rater_id, item_id)
);
"""

MAX_COMMENT = 2000


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Rater:
    id: int
    name: str
    salt: str
    consented: bool


@dataclass(frozen=True)
class Item:
    """What a rater may see of an item (no condition, no model, no source id)."""

    id: int
    uid: str
    kind: str
    messages: list[dict[str, str]]
    response: str


@dataclass(frozen=True)
class Slot:
    """One position in a rater's sequence: the item there and the rater's rating of it, if any."""

    position: int
    item: Item
    skipped: bool
    scores: dict[str, int] | None
    comment: str


@dataclass(frozen=True)
class NewItem:
    """An item to import (``item_key`` identifies it across imports: importing it again changes nothing)."""

    item_key: str
    source_id: str
    kind: str
    messages: list[dict[str, str]]
    response: str
    condition: str | None = None
    model: str | None = None
    domain: str | None = None
    locale: str | None = None


def validate_scores(form: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Rubric scores from form fields; returns the scores and the keys that are missing or out of range."""
    scores: dict[str, int] = {}
    problems: list[str] = []
    for key in RUBRIC_KEYS:
        raw = form.get(key)
        allowed = (0, 1) if key in BINARY_KEYS else (1, 2, 3, 4, 5)
        try:
            value = int(str(raw))
        except (TypeError, ValueError):
            problems.append(key)
            continue
        if value not in allowed:
            problems.append(key)
            continue
        scores[key] = value
    return scores, problems


class RatingDB:
    """The ratings database at ``path``. Each method opens its own short-lived connection, so one instance can be
    shared by the threads of a web server."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # -- connections -------------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: committed (and fsynced) on success, rolled back on error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- set-up ------------------------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> tuple[RatingDB, str]:
        """Create a new database; returns it and the admin secret (shown once)."""
        path = Path(path)
        if path.exists():
            raise UserError(f"{path} already exists: use it as it is, or choose another --db")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot create {path} ({exc}): choose another --db") from None
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
        finally:
            conn.close()
        db = cls(path)
        admin = secrets.token_urlsafe(24)
        with db.write() as c:
            c.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("schema_version", SCHEMA_VERSION),
                    ("admin_hash", secret_hash(admin)),
                    ("csrf_key", secrets.token_hex(32)),
                    ("created_at", _now()),
                ],
            )
        return db, admin

    @classmethod
    def open(cls, path: Path) -> RatingDB:
        """Open an existing database (a :class:`UserError` when it is missing or not a ratings database)."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: no ratings database there; create it with `psychosafe rate init --db {path}`")
        db = cls(path)
        try:
            with db.read() as c:
                row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is None:
            raise UserError(f"{path} is not a psychosafe ratings database (create one with `psychosafe rate init`)")
        return db

    def rotate_admin(self) -> str:
        admin = secrets.token_urlsafe(24)
        with self.write() as c:
            c.execute("UPDATE meta SET value = ? WHERE key = 'admin_hash'", (secret_hash(admin),))
        return admin

    def _meta(self, key: str) -> str:
        with self.read() as c:
            return str(c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    # -- items and raters --------------------------------------------------------------------------------------

    def import_items(self, items: Iterable[NewItem], overlap: int) -> tuple[int, int]:
        """Add items (each to be rated by ``overlap`` raters); returns (added, already present)."""
        if overlap < 1:
            raise UserError(f"--overlap must be at least 1, not {overlap}")
        added = present = 0
        now = _now()
        with self.write() as c:
            for item in items:
                cur = c.execute(
                    "INSERT OR IGNORE INTO items (uid, item_key, source_id, condition, model, kind, domain, locale,"
                    " messages, response, overlap, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        secrets.token_hex(8),
                        item.item_key,
                        item.source_id,
                        item.condition,
                        item.model,
                        item.kind,
                        item.domain,
                        item.locale,
                        json.dumps(item.messages, ensure_ascii=False),
                        item.response,
                        overlap,
                        now,
                    ),
                )
                if cur.rowcount:
                    added += 1
                else:
                    present += 1
        return added, present

    def add_rater(self, name: str, new_link: bool = False) -> str:
        """Add a rater (or, with ``new_link``, replace an existing rater's link); returns the secret token."""
        name = name.strip()
        if not name or len(name) > 100:
            raise UserError("a rater name must have 1 to 100 characters")
        token = secrets.token_urlsafe(24)
        with self.write() as c:
            exists = c.execute("SELECT id FROM raters WHERE name = ?", (name,)).fetchone()
            if exists and not new_link:
                raise UserError(f"rater {name!r} already exists: add --new-link to replace their link")
            if exists:
                c.execute("UPDATE raters SET token_hash = ? WHERE id = ?", (secret_hash(token), exists["id"]))
            else:
                c.execute(
                    "INSERT INTO raters (name, token_hash, salt, created_at) VALUES (?, ?, ?, ?)",
                    (name, secret_hash(token), secrets.token_hex(16), _now()),
                )
        return token

    # -- access ------------------------------------------------------------------------------------------------

    def rater_by_token(self, token: str) -> Rater | None:
        with self.read() as c:
            row = c.execute(
                "SELECT id, name, salt, consented_at FROM raters WHERE token_hash = ?", (secret_hash(token),)
            ).fetchone()
        return Rater(row["id"], row["name"], row["salt"], row["consented_at"] is not None) if row else None

    def is_admin(self, secret: str) -> bool:
        return hmac.compare_digest(secret_hash(secret), self._meta("admin_hash"))

    def csrf_token(self, scope: str) -> str:
        """A token for forms of one rater (``scope`` = ``rater:<id>``) or of the admin page."""
        return hmac.new(self._meta("csrf_key").encode(), scope.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, scope: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(scope), str(token))

    def consent(self, rater_id: int) -> None:
        with self.write() as c:
            c.execute("UPDATE raters SET consented_at = COALESCE(consented_at, ?) WHERE id = ?", (_now(), rater_id))

    # -- a rater's sequence ------------------------------------------------------------------------------------

    def _open_items(self, c: sqlite3.Connection, rater_id: int) -> list[sqlite3.Row]:
        return c.execute(
            "SELECT i.id, i.uid FROM items i WHERE NOT EXISTS "
            "(SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.rater_id = ?) "
            "AND (SELECT COUNT(*) FROM assignments a WHERE a.item_id = i.id AND a.skipped = 0) < i.overlap",
            (rater_id,),
        ).fetchall()

    def claimed(self, rater_id: int) -> int:
        with self.read() as c:
            return int(c.execute("SELECT COUNT(*) FROM assignments WHERE rater_id = ?", (rater_id,)).fetchone()[0])

    def claim(self, rater: Rater, position: int) -> bool:
        """Make sure ``position`` of the rater's sequence holds an item, claiming the next open item in their own
        order when ``position`` is the next one. ``False`` when nothing is left or ``position`` is further on.
        Safe against a double request: a position already claimed is simply kept."""
        with self.write() as c:
            next_position = int(
                c.execute(
                    "SELECT COALESCE(MAX(position), 0) + 1 FROM assignments WHERE rater_id = ?", (rater.id,)
                ).fetchone()[0]
            )
            if position < next_position:
                return position >= 1
            if position > next_position:
                return False
            candidates = self._open_items(c, rater.id)
            if not candidates:
                return False
            choice = min(candidates, key=lambda r: hashlib.sha256((rater.salt + r["uid"]).encode()).hexdigest())
            c.execute(
                "INSERT INTO assignments (rater_id, item_id, position, claimed_at) VALUES (?, ?, ?, ?)",
                (rater.id, choice["id"], position, _now()),
            )
            return True

    def slot(self, rater_id: int, position: int) -> Slot | None:
        with self.read() as c:
            row = c.execute(
                "SELECT a.position, a.skipped, i.id, i.uid, i.kind, i.messages, i.response, r.scores, r.comment "
                "FROM assignments a JOIN items i ON i.id = a.item_id "
                "LEFT JOIN ratings r ON r.rater_id = a.rater_id AND r.item_id = a.item_id "
                "WHERE a.rater_id = ? AND a.position = ?",
                (rater_id, position),
            ).fetchone()
        if row is None:
            return None
        item = Item(row["id"], row["uid"], row["kind"], json.loads(row["messages"]), row["response"])
        scores = json.loads(row["scores"]) if row["scores"] else None
        return Slot(row["position"], item, bool(row["skipped"]), scores, row["comment"] or "")

    def resume_position(self, rater_id: int) -> int:
        """The first position neither rated nor skipped, else the next to claim."""
        with self.read() as c:
            row = c.execute(
                "SELECT MIN(a.position) FROM assignments a WHERE a.rater_id = ? AND a.skipped = 0 AND NOT EXISTS "
                "(SELECT 1 FROM ratings r WHERE r.rater_id = a.rater_id AND r.item_id = a.item_id)",
                (rater_id,),
            ).fetchone()
            if row[0] is not None:
                return int(row[0])
            return int(c.execute("SELECT COUNT(*) FROM assignments WHERE rater_id = ?", (rater_id,)).fetchone()[0]) + 1

    def progress(self, rater_id: int) -> tuple[int, int]:
        """(rated, total) for the progress bar: total = items held by the rater + items still open to them."""
        with self.read() as c:
            rated = int(c.execute("SELECT COUNT(*) FROM ratings WHERE rater_id = ?", (rater_id,)).fetchone()[0])
            held = int(c.execute("SELECT COUNT(*) FROM assignments WHERE rater_id = ?", (rater_id,)).fetchone()[0])
            open_ = len(self._open_items(c, rater_id))
        return rated, held + open_

    def save_rating(self, rater_id: int, position: int, item_uid: str, scores: dict[str, int], comment: str) -> bool:
        """Store (or replace) the rater's rating of the item at ``position``; ``False`` when that position does not
        hold that item for this rater (someone else's item, or a stale form)."""
        now = _now()
        with self.write() as c:
            item_id = _assigned_item(c, rater_id, position, item_uid)
            if item_id is None:
                return False
            c.execute(
                "INSERT INTO ratings (rater_id, item_id, scores, comment, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rater_id, item_id) DO UPDATE SET "
                "scores = excluded.scores, comment = excluded.comment, revision = revision + 1, "
                "updated_at = excluded.updated_at",
                (rater_id, item_id, json.dumps(scores), comment[:MAX_COMMENT], now, now),
            )
            c.execute("UPDATE assignments SET skipped = 0 WHERE rater_id = ? AND item_id = ?", (rater_id, item_id))
        return True

    def skip(self, rater_id: int, position: int, item_uid: str) -> bool:
        """Mark an unrated item as skipped (it becomes open to another rater); a rated item keeps its rating."""
        with self.write() as c:
            item_id = _assigned_item(c, rater_id, position, item_uid)
            if item_id is None:
                return False
            c.execute(
                "UPDATE assignments SET skipped = 1 WHERE rater_id = ? AND item_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM ratings r WHERE r.rater_id = ? AND r.item_id = ?)",
                (rater_id, item_id, rater_id, item_id),
            )
        return True

    # -- admin and export --------------------------------------------------------------------------------------

    def rater_progress(self) -> list[dict[str, Any]]:
        with self.read() as c:
            rows = c.execute(
                "SELECT r.name, r.consented_at, "
                "(SELECT COUNT(*) FROM assignments a WHERE a.rater_id = r.id) AS held, "
                "(SELECT COUNT(*) FROM assignments a WHERE a.rater_id = r.id AND a.skipped = 1) AS skipped, "
                "(SELECT COUNT(*) FROM ratings x WHERE x.rater_id = r.id) AS rated, "
                "(SELECT MAX(updated_at) FROM ratings x WHERE x.rater_id = r.id) AS last "
                "FROM raters r ORDER BY r.name"
            ).fetchall()
        return [dict(r) for r in rows]

    def item_progress(self) -> list[dict[str, Any]]:
        with self.read() as c:
            rows = c.execute(
                "SELECT i.item_key, i.overlap, "
                "(SELECT COUNT(*) FROM ratings x WHERE x.item_id = i.id) AS rated, "
                "(SELECT COUNT(*) FROM assignments a WHERE a.item_id = i.id AND a.skipped = 0) AS held, "
                "(SELECT COUNT(*) FROM assignments a WHERE a.item_id = i.id AND a.skipped = 1) AS skipped "
                "FROM items i ORDER BY i.item_key"
            ).fetchall()
        return [dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.read() as c:
            return {
                table: int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("items", "raters", "assignments", "ratings")
            }

    def export_rows(self) -> list[dict[str, Any]]:
        """Every rating with its item's identity (including the condition and model hidden from raters)."""
        with self.read() as c:
            rows = c.execute(
                "SELECT rt.name AS rater, i.item_key, i.source_id AS id, i.condition, i.model, i.kind, i.domain, "
                "i.locale, i.response, r.scores, r.comment, r.revision, r.created_at, r.updated_at "
                "FROM ratings r JOIN raters rt ON rt.id = r.rater_id JOIN items i ON i.id = r.item_id "
                "ORDER BY i.item_key, rt.name"
            ).fetchall()
        out = []
        for row in rows:
            record = dict(row)
            scores = json.loads(record.pop("scores"))
            record.update({k: scores.get(k) for k in RUBRIC_KEYS})
            out.append(record)
        return out


def _assigned_item(c: sqlite3.Connection, rater_id: int, position: int, item_uid: str) -> int | None:
    """The id of the item at ``position`` in the rater's order, if that position holds the item ``item_uid``."""
    row = c.execute(
        "SELECT a.item_id FROM assignments a JOIN items i ON i.id = a.item_id "
        "WHERE a.rater_id = ? AND a.position = ? AND i.uid = ?",
        (rater_id, position, item_uid),
    ).fetchone()
    return None if row is None else int(row[0])
