"""Schema migrations. Never edit one that has been released: add a new one below it."""

from __future__ import annotations

import re

from prakerja_cli.store import _import_sqlite_utils
from prakerja_cli.store.engine import dbapi

_import_sqlite_utils()

from sqlite_utils import Database, Migrations  # noqa: E402 - after the numpy/pandas block

MIGRATIONS = Migrations("prakerja")


def migrate(conn: dbapi.Connection) -> None:
    """Apply the pending migrations on the store's connection (store.db.open_db, in its write
    transaction)."""
    db = Database(conn)
    if MIGRATIONS.pending(db):
        MIGRATIONS.apply(db)


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE applicants (
            id TEXT PRIMARY KEY,
            registration_number TEXT NOT NULL UNIQUE,
            nik TEXT NOT NULL CHECK (length(nik) = 16),
            kk TEXT NOT NULL CHECK (length(kk) = 16),
            name TEXT NOT NULL,
            birth_place TEXT,
            birth_date TEXT NOT NULL,
            gender TEXT NOT NULL CHECK (gender IN ('L', 'P')),
            address TEXT NOT NULL,
            rt TEXT,
            rw TEXT,
            village TEXT NOT NULL,
            district TEXT NOT NULL,
            regency TEXT NOT NULL,
            province TEXT NOT NULL,
            phone TEXT NOT NULL,
            email TEXT,
            education TEXT NOT NULL,
            employment TEXT NOT NULL,
            occupation TEXT,
            in_school INTEGER NOT NULL,
            social_assistance INTEGER NOT NULL DEFAULT 0,
            priority TEXT NOT NULL DEFAULT 'normal',
            training TEXT,
            source TEXT NOT NULL,
            source_file TEXT,
            source_sheet TEXT,
            source_row INTEGER,
            source_sha256 TEXT,
            office_code TEXT NOT NULL,
            desk TEXT NOT NULL,
            operator TEXT NOT NULL,
            rules TEXT NOT NULL,
            status TEXT NOT NULL,
            findings TEXT NOT NULL DEFAULT '[]',
            withdrawn_reason TEXT,
            withdrawn_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    # NIK unique among live records: a withdrawn registration frees its NIK.
    db.execute(
        "CREATE UNIQUE INDEX applicants_live_nik ON applicants (nik) WHERE status != 'withdrawn'"
    )
    db.execute("CREATE INDEX applicants_kk ON applicants (kk)")
    db.execute("CREATE INDEX applicants_status ON applicants (status)")
    db.execute("CREATE INDEX applicants_created ON applicants (created_at)")
    db.execute("CREATE INDEX applicants_district ON applicants (district)")
    db.execute(
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute(
        """
        CREATE TABLE regions (
            code TEXT PRIMARY KEY,
            level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
            name TEXT NOT NULL,
            in_current_list INTEGER NOT NULL DEFAULT 1,
            source TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")


@MIGRATIONS()
def m002_sync(db: Database) -> None:
    """Where each record stands centrally, and the outbox of batches to deliver."""
    for column in (
        "central_status TEXT",  # accepted, duplicate, rejected, conflict, verified, registry_rejected
        "central_id TEXT",
        "central_reason TEXT",
        "central_wave INTEGER",
        "sent_hash TEXT",  # content hash of what the central system holds
        "synced_at TEXT",
    ):
        db.execute(f"ALTER TABLE applicants ADD COLUMN {column}")
    db.execute("CREATE INDEX applicants_central ON applicants (central_status)")
    # A batch and its Idempotency-Key are written before the first byte is sent, so after a crash,
    # a lost response or a timeout the same body goes again under the same key.
    db.execute(
        """
        CREATE TABLE outbox_batches (
            id TEXT PRIMARY KEY,
            body BLOB NOT NULL,
            records INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            done_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE outbox_items (
            batch_id TEXT NOT NULL REFERENCES outbox_batches (id) ON DELETE CASCADE,
            applicant_id TEXT NOT NULL REFERENCES applicants (id),
            content_hash TEXT NOT NULL,
            PRIMARY KEY (batch_id, applicant_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX outbox_items_applicant ON outbox_items (applicant_id)")


@MIGRATIONS()
def m003_audit(db: Database) -> None:
    """The hash-chained audit trail: each entry's hash covers the one before it."""
    db.execute(
        """
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            operator TEXT NOT NULL,
            desk TEXT NOT NULL,
            action TEXT NOT NULL,
            applicant_id TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX audit_applicant ON audit (applicant_id)")


#: Columns a purge empties; m001 made some of them NOT NULL.
PERSONAL_COLUMNS = (
    "nik", "kk", "name", "birth_place", "birth_date", "phone", "email", "address", "rt", "rw",
    "occupation",
)  # fmt: skip
_REQUIRED_PERSONAL = ("nik", "kk", "name", "birth_date", "address", "phone")


@MIGRATIONS()
def m004_purge(db: Database) -> None:
    """`prakerja purge`: personal columns may be NULL once a record is purged (and only then),
    when a record was verified centrally, and the keyed hashes of purged NIKs.

    SQLite cannot drop a NOT NULL in place, so applicants is rebuilt from its own stored schema
    (whatever columns and indexes earlier migrations gave it) with those NOT NULLs removed. This
    runs inside open_db's write transaction with foreign keys on, where `PRAGMA foreign_keys = OFF`
    does nothing; dropping a table other rows point at would fail, so the tables referring to
    applicants (outbox_items) are set aside first and put back, unchanged, after the rename.
    A large store takes a while once (about 1 s per 50k records) while other desks wait.
    """
    table_sql = _schema_sql(db, "table", "applicants")[0]
    relaxed = table_sql
    for column in _REQUIRED_PERSONAL:
        relaxed, found = re.subn(rf"\b({column} TEXT) NOT NULL\b", r"\1", relaxed)
        if found != 1:
            raise RuntimeError(f"m004_purge: unexpected applicants schema at {column}")
    relaxed, found = re.subn(r"^\s*CREATE TABLE applicants\b", "CREATE TABLE applicants_m004",
                             relaxed)  # fmt: skip
    end = relaxed.rstrip().rfind(")")
    if found != 1 or end < 0:
        raise RuntimeError("m004_purge: unexpected applicants schema")
    present = " AND ".join(f"{c} IS NOT NULL" for c in _REQUIRED_PERSONAL)
    relaxed = (
        relaxed[:end].rstrip()
        # When the central system verified it (local time the status pull learned it); only a
        # verified record has one.
        + ",\n    verified_at TEXT"
        # Personal columns emptied by `prakerja purge`; until then the form's required ones stay.
        + f",\n    purged_at TEXT CHECK (purged_at IS NOT NULL OR ({present}))\n)"
    )
    columns = [row[1] for row in db.execute("PRAGMA table_info(applicants)").fetchall()]
    names = ", ".join(columns)
    children = [
        row[0]
        for row in db.execute(
            "SELECT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
            "WHERE m.type = 'table' AND f.\"table\" = 'applicants' AND m.name != 'applicants'"
        ).fetchall()
    ]
    set_aside = []
    for child in dict.fromkeys(children):
        extras = _schema_sql(db, "index", child) + _schema_sql(db, "trigger", child)
        set_aside.append((child, _schema_sql(db, "table", child)[0], extras))
        db.execute(f"CREATE TEMP TABLE m004_{child} AS SELECT * FROM {child}")
        db.execute(f"DROP TABLE {child}")
    extras = _schema_sql(db, "index", "applicants") + _schema_sql(db, "trigger", "applicants")
    db.execute(relaxed)
    db.execute(f"INSERT INTO applicants_m004 ({names}) SELECT {names} FROM applicants")
    db.execute("DROP TABLE applicants")
    db.execute("ALTER TABLE applicants_m004 RENAME TO applicants")
    for sql in extras:
        db.execute(sql)
    for child, sql, child_extras in set_aside:
        db.execute(sql)
        db.execute(f"INSERT INTO {child} SELECT * FROM temp.m004_{child}")
        db.execute(f"DROP TABLE temp.m004_{child}")
        for extra in child_extras:
            db.execute(extra)
    # Before this migration the pull stamped synced_at when a record became verified; a later
    # wave assignment moved it on, so it is the latest the verification can have been.
    db.execute("UPDATE applicants SET verified_at = synced_at WHERE central_status = 'verified'")
    # The NIK of each purged live record, as HMAC-SHA256 under the office key (the audit trail's):
    # a NIK registered again is still a duplicate, and the table alone does not give the NIK back.
    db.execute(
        """
        CREATE TABLE purged_niks (
            nik_hmac TEXT PRIMARY KEY,
            registration_number TEXT NOT NULL,
            purged_at TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )


def _schema_sql(db: Database, kind: str, table: str) -> list[str]:
    """The stored CREATE statements of one kind (table, index, trigger) on `table`."""
    rows = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL "
        "ORDER BY rowid",
        [kind, table],
    ).fetchall()
    return [str(row[0]) for row in rows]


@MIGRATIONS()
def m005_store_id(db: Database) -> None:
    """A random id for the store, carried by its backups: a restore tells from it whether this PC
    is the one that has been numbering the store's registrations (store/numbering.py)."""
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))))"
    )


@MIGRATIONS()
def m007_slow_tombstones(db: Database) -> None:
    """How each purged NIK is keyed: `hmac-sha256` for those purged so far (their NIKs are gone,
    so they cannot be keyed again), the slow scrypt of store.applicants.nik_tombstone from now on.
    """
    db.execute("ALTER TABLE purged_niks ADD COLUMN scheme TEXT NOT NULL DEFAULT 'hmac-sha256'")


#: A registration number's serial, the digits after `office-desk-`, as an integer (numbering.py).
SERIAL_SQL = "CAST(substr(registration_number, length(office_code) + length(desk) + 3) AS INTEGER)"


@MIGRATIONS()
def m008_scale(db: Database) -> None:
    """Indexes and derived columns for a store of a million records (issue 15).

    - `seq`: the registration number's serial as an integer. Numbers are `{serial:06d}`, so past
      999,999 they grow to 7 digits and sort wrong as text (…-999999 after …-1049589); listings
      order by (created_at, seq, registration_number) instead. store.applicants.derived gives it
      to every row inserted (a new one, or one restored from an older backup); not a trigger,
      which made an import's inserts twice as slow (2.3 -> 4.8 s per 100k rows).
    - `name_folded`: the name as core.fields.fold compares it, so a name search is a scan of one
      narrow index in SQLite, not a Python call per row. Kept by store/applicants.py (insert,
      edit) and store/purge.py (emptied with the name).
    - The NIKs of withdrawn records in an index of their own (the live-NIK one is partial, so
      `nik = ?` alone could not use it: a look-up asks the live and the withdrawn in turn), and
      indexes on phone, (status, central_status), (central_status, created_at) and
      (created_at, seq, registration_number); the ones they make redundant (their prefixes) go.
    """
    from prakerja_cli.core.fields import fold

    db.execute("ALTER TABLE applicants ADD COLUMN seq INTEGER")
    db.execute("ALTER TABLE applicants ADD COLUMN name_folded TEXT")
    db.conn.create_function(
        "prakerja_m008_fold", 1, lambda name: None if name is None else fold(name),
        deterministic=True,
    )  # fmt: skip
    db.execute(f"UPDATE applicants SET seq = {SERIAL_SQL}, name_folded = prakerja_m008_fold(name)")
    for name in ("applicants_status", "applicants_central", "applicants_created"):
        db.execute(f"DROP INDEX IF EXISTS {name}")
    # With applicants_live_nik, every NIK is in an index; a partial one stays tiny and costs an
    # import nothing (a full index on NIK added ~1 s per 100k rows imported).
    db.execute(
        "CREATE INDEX applicants_withdrawn_nik ON applicants (nik) WHERE status = 'withdrawn'"
    )
    db.execute("CREATE INDEX applicants_phone ON applicants (phone)")
    db.execute("CREATE INDEX applicants_name_folded ON applicants (name_folded)")
    db.execute("CREATE INDEX applicants_status_central ON applicants (status, central_status)")
    db.execute("CREATE INDEX applicants_central_created ON applicants (central_status, created_at)")
    db.execute(
        "CREATE INDEX applicants_created_seq ON applicants (created_at, seq, registration_number)"
    )


@MIGRATIONS()
def m009_audit_records(db: Database) -> None:
    """Audit entries commit to the records they change: a keyed hash of each one's stored fields
    (store/audit.py). Older entries have none; the next open seals the records they hold."""
    db.execute("ALTER TABLE audit ADD COLUMN records TEXT")


@MIGRATIONS()
def m010_similar(db: Database) -> None:
    """Possible duplicates (core/similar.py) are looked for among records born on the same day in
    the same kecamatan: one index makes that a seek, not a scan of the store (the KK half uses
    applicants_kk). The kecamatan compares in any case, as typed names differ in it."""
    db.execute(
        "CREATE INDEX applicants_birth_district ON applicants (birth_date, district COLLATE NOCASE)"
    )


@MIGRATIONS()
def m011_hub(db: Database) -> None:
    """The office hub (prakerja_cli/hub/): its enrolled desks, the records desks sent it (which
    desk; the record itself is an applicants row under the desk's own id), the first answer to
    each (client_id, content_hash) and each Idempotency-Key, and the feed of central verdicts
    going back to each desk. Empty on a desk that is not a hub; the trigger then costs one
    look-up in an empty index per central update."""
    db.execute(
        """
        CREATE TABLE hub_desks (
            desk TEXT PRIMARY KEY,
            token_sha256 TEXT NOT NULL UNIQUE,
            enrolled_at TEXT NOT NULL,
            revoked_at TEXT
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE hub_records (
            client_id TEXT PRIMARY KEY REFERENCES applicants (id),
            desk TEXT NOT NULL,
            received_at TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE hub_results (
            client_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            desk TEXT NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (client_id, content_hash)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE hub_keys (
            key TEXT PRIMARY KEY,
            desk TEXT NOT NULL,
            body_sha256 TEXT NOT NULL,
            response TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE hub_feed (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            desk TEXT NOT NULL,
            client_id TEXT NOT NULL,
            central_id TEXT,
            status TEXT NOT NULL,
            reason TEXT,
            wave INTEGER,
            at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX hub_feed_desk ON hub_feed (desk, seq)")
    # Every central answer and status event the hub's own sync writes on a desk's record becomes
    # an event of that desk's feed, in the same transaction (nothing lost to a crash between).
    db.execute(
        """
        CREATE TRIGGER hub_feed_verdict AFTER UPDATE OF central_status, central_id, central_wave
        ON applicants
        WHEN EXISTS (SELECT 1 FROM hub_records WHERE client_id = NEW.id)
            AND (NEW.central_status IS NOT OLD.central_status
                 OR NEW.central_id IS NOT OLD.central_id
                 OR NEW.central_wave IS NOT OLD.central_wave)
        BEGIN
            INSERT INTO hub_feed (desk, client_id, central_id, status, reason, wave, at)
            SELECT desk, NEW.id, NEW.central_id,
                   CASE WHEN NEW.central_wave IS NOT OLD.central_wave
                        AND NEW.central_status IS OLD.central_status
                        THEN 'wave_assigned' ELSE NEW.central_status END,
                   NEW.central_reason, NEW.central_wave,
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
            FROM hub_records WHERE client_id = NEW.id
                AND (NEW.central_status IS NOT NULL OR NEW.central_wave IS NOT NULL);
        END
        """
    )


@MIGRATIONS()
def m012_hub_bundle_keys(db: Database) -> None:
    """USB bundles (prakerja_cli/bundle/): an enrolled desk's public key line (age recipient and
    Ed25519 key), given at enrolment; a desk without one exchanges no bundles."""
    db.execute("ALTER TABLE hub_desks ADD COLUMN bundle_key TEXT")


@MIGRATIONS()
def m013_amendments(db: Database) -> None:
    """Corrections after sync (issue 16): a correction or withdrawal of a record the central system
    holds goes there as an amendment (sync/amendments.py) of the registration's version.

    - `central_version`: the registration's version as this store last learned it (NULL: 1, as
      registered).
    - `outbox_amendments`: each amendment, written with the edit that makes it (its id is the
      amendment_id, the same on every retry); `changes` the changed fields and their new values,
      `content_hash` the record's after it; `base_version` fixed when it is written into a request
      (or, on an office hub, as the desk sent it); the answer (`outcome`, `reason`, `version`).
    - `amendment_requests`: requests written (key and exact body) before they are sent, as
      outbox_batches are.
    - The office hub: the first answer to each desk's amendment_id, and the amendment an event
      of a desk's feed is about (a conflict met upstream) with the version it names.
    """
    db.execute("ALTER TABLE applicants ADD COLUMN central_version INTEGER")
    db.execute(
        """
        CREATE TABLE amendment_requests (
            id TEXT PRIMARY KEY,
            body BLOB NOT NULL,
            amendments INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            done_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE outbox_amendments (
            id TEXT PRIMARY KEY,
            applicant_id TEXT NOT NULL REFERENCES applicants (id),
            kind TEXT NOT NULL CHECK (kind IN ('amend', 'withdraw')),
            changes TEXT NOT NULL DEFAULT '{}',
            content_hash TEXT,
            base_version INTEGER,
            request_id TEXT REFERENCES amendment_requests (id),
            outcome TEXT,
            reason TEXT,
            version INTEGER,
            created_at TEXT NOT NULL,
            answered_at TEXT
        )
        """
    )
    db.execute(
        "CREATE INDEX outbox_amendments_applicant ON outbox_amendments (applicant_id, created_at)"
    )
    db.execute(
        "CREATE INDEX outbox_amendments_unsent ON outbox_amendments (created_at) "
        "WHERE request_id IS NULL"
    )
    db.execute(
        """
        CREATE TABLE hub_amendments (
            amendment_id TEXT PRIMARY KEY,
            desk TEXT NOT NULL,
            client_id TEXT NOT NULL,
            result TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
    db.execute("ALTER TABLE hub_feed ADD COLUMN amendment_id TEXT")
    db.execute("ALTER TABLE hub_feed ADD COLUMN version INTEGER")
