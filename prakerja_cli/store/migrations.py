"""Schema migrations. Never edit one that has been released: add a new one below it."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("prakerja")


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
