"""Writes of deliveries and returns: file imports, single records, return decisions.

A delivery import streams the file: rows are parsed and validated in Python
(`importing.py`), collected in chunks, loaded into a temporary staging table (COPY on
PostgreSQL, executemany on SQLite) and written with one set-based
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` per chunk. The whole file is one
transaction with one audit row, so `--all-or-nothing` is a rollback. Only when a
chunk inserts fewer rows than it staged does a second query find out why (the
external id existed before, with the same or different data, or earlier in the file).
On PostgreSQL the INSERT of one chunk runs on the server while Python parses the
next (pipeline mode): the table's indexes and foreign keys, not Python, set the pace.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.deliveries import summary
from leadbill.deliveries.importing import (
    MAX_REASON_LENGTH,
    STAGE_COLUMNS,
    DeliveryMappingParser,
    DeliveryRow,
    DeliveryRowParser,
    ReturnMappingParser,
    ReturnRow,
    ReturnRowParser,
    RowError,
    sqlite_timestamp,
)
from leadbill.deliveries.models import Delivery, DeliveryImport, ImportState, Return, ReturnStatus
from leadbill.deliveries.selectors import (
    deliveries_by_external_id,
    delivery_codes,
    delivery_month,
    open_returns_by_delivery,
    return_share_counts,
)
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.text import check_text
from leadbill.entities.models import Entity
from leadbill.partners import stamps
from leadbill.partners.models import Partner

CHUNK_ROWS = 10_000
RETURN_CHUNK_ROWS = 1_000
MAX_REPORTED_ERRORS = 10_000  # beyond this, bad rows are counted, not listed
AUTO_ACCEPT_ACTOR = "system:auto-accept"
MAX_NOTE_LENGTH = 500  # Return.decision_note
STAGE_TABLE = "leadbill_stage_delivery"
_DEFERRED_FOREIGN_KEYS: dict[str, str] = {}  # database name -> constraint names (the schema is fixed at run time)

Progress = Callable[[int], None]  # called with the number of data rows read so far


class AlreadyReturned(DomainError):
    """The delivery already has a requested or accepted return."""

    code = "already_returned"


class _Refused(Exception):
    """Raised inside the import transaction to roll it back (--all-or-nothing)."""


@dataclass
class ImportResult:
    """What an import did. `errors` lists at most MAX_REPORTED_ERRORS; `error_count` counts all."""

    file_name: str = ""
    rows: int = 0
    created: int = 0
    already_present: int = 0
    decided: int = 0  # returns files: requested returns decided by a status column
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    refused: bool = False  # --all-or-nothing and a bad row: nothing was written

    def add_error(self, row: int, field_name: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, field_name or "row", message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "rows": self.rows,
            "created": self.created,
            "already_present": self.already_present,
            "decided": self.decided,
            "bad_rows": self.error_count,
            "refused": self.refused,
            "errors": [error.as_dict() for error in self.errors],
        }


def _finish_import(
    actor: str, entity: Entity, action: str, result: ImportResult, all_or_nothing: bool, **counts: int
) -> None:
    """Inside the import's transaction: refuse the file (rolls back) or record its audit row."""
    if all_or_nothing and result.error_count:
        raise _Refused
    result.errors.sort(key=lambda error: error.row)
    audit_record(
        actor=actor, action=action, obj=entity, entity=entity, file=result.file_name, rows=result.rows,
        created=result.created, already_present=result.already_present, **counts, bad_rows=result.error_count,
    )  # fmt: skip


def _refused(result: ImportResult) -> None:
    """After the rollback of a refused file: nothing was written."""
    result.refused = True
    result.created = result.already_present = result.decided = 0
    result.errors.sort(key=lambda error: error.row)


def _records(stream: TextIO, result: ImportResult) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (line number of the record's first line, values).

    Blank lines are skipped; a quoted value spanning lines counts its lines, so the
    numbers are the ones an editor shows. A line the csv module cannot read is a bad
    row of `result`.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise DomainError("the file is empty (expected a header line)", field="header") from None
    except csv.Error as exc:
        raise DomainError(f"cannot read the header: {exc}", field="header") from None

    def numbered() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                result.rows += 1
                result.add_error(line + 1, "row", f"not readable as CSV ({exc})")
            else:
                if record:
                    yield line + 1, record
            line = reader.line_num

    return header, numbered()


# --- delivery staging, one class per database ----------------------------------------------

_INSERT_COLUMNS = ", ".join(STAGE_COLUMNS)
_CONTENT_COLUMNS = [c for c in STAGE_COLUMNS if c not in ("external_id", "fields")]
_INSERT_SQL = (
    f"INSERT INTO deliveries_delivery (entity_id, created_at, {_INSERT_COLUMNS}) "
    f"SELECT %s, %s, {_INSERT_COLUMNS} FROM {STAGE_TABLE} WHERE true "
    "ON CONFLICT (entity_id, external_id) DO NOTHING"
)


@dataclass(slots=True)
class _Chunk:
    rows: list[tuple[Any, ...]]  # parsed rows, STAGE_COLUMNS order
    first_row: dict[str, int]  # external id -> its row number in the file


class _Stage:
    """A temporary table holding one chunk of parsed deliveries, and the set-based writes."""

    same_operator = "IS NOT DISTINCT FROM"
    ddl = ""

    def __init__(self, entity_id: int, stamp: datetime, tz: str) -> None:
        self.entity_id = entity_id
        self.tz = tz
        self.created_at = connection.ops.adapt_datetimefield_value(stamp)
        self.cursor = connection.cursor()
        self.prepare()

    def prepare(self) -> None:
        """An empty staging table for this import."""
        self.cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        self.cursor.execute(self.ddl)

    def timestamp(self) -> Callable[[datetime], Any] | None:
        """How the parser should hand over delivered_at (None: as an aware datetime)."""
        return None

    def load(self, rows: Sequence[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        self.cursor.close()

    def write_all(self, chunks: Iterator[_Chunk], result: ImportResult) -> None:
        """Stage and insert each chunk in turn."""
        for chunk in chunks:
            self.load(chunk.rows)
            before = self.max_id()
            self.cursor.execute(_INSERT_SQL, [self.entity_id, self.created_at])
            inserted = self.cursor.rowcount
            summary.add_inserted(self.entity_id, self.tz, before, self.created_at)
            self.account(chunk, inserted, before, result)

    def account(self, chunk: _Chunk, inserted: int, before: int, result: ImportResult) -> None:
        """Count a written chunk; rows it staged but did not insert are found out here."""
        result.created += inserted
        if inserted < len(chunk.rows):
            for external_id, earlier_in_file, same in self.not_inserted(before):
                row_no = chunk.first_row[external_id]
                if earlier_in_file:
                    result.add_error(row_no, "external_id", f"{external_id!r} already appears on an earlier row")
                elif same:
                    result.already_present += 1
                else:
                    result.add_error(row_no, "external_id", f"{external_id!r} already exists with different data")
        self.clear()

    def max_id(self) -> int:
        self.cursor.execute("SELECT COALESCE(MAX(id), 0) FROM deliveries_delivery")
        return int(self.cursor.fetchone()[0])

    def not_inserted(self, inserted_above: int) -> list[tuple[str, bool, bool]]:
        """(external id, written earlier by this import, same content) of staged rows left out.

        A row this chunk inserted has an id above `inserted_above` and this import's
        created_at; every other match is a row that was there before the chunk.
        """
        same = " AND ".join(f"d.{c} {self.same_operator} s.{c}" for c in _CONTENT_COLUMNS)
        self.cursor.execute(
            f"SELECT s.external_id, d.created_at = %s, {same}, s.fields, d.fields "
            f"FROM {STAGE_TABLE} s JOIN deliveries_delivery d "
            "ON d.entity_id = %s AND d.external_id = s.external_id "
            "WHERE NOT (d.id > %s AND d.created_at = %s)",
            [self.created_at, self.entity_id, inserted_above, self.created_at],
        )
        return [
            (external_id, bool(earlier), bool(same_columns) and _json(new) == _json(old))
            for external_id, earlier, same_columns, new, old in self.cursor.fetchall()
        ]


class _PostgresStage(_Stage):
    # Kept for the connection's life and emptied at commit: creating and dropping a temp
    # table costs catalog writes on every API batch (a few ms per 1,000 rows).
    ddl = (
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} (external_id text, partner_id bigint, profile_id bigint, "
        "lead_type_id bigint, lead_id text, delivered_at timestamptz, price_micros bigint, currency text, "
        "fields jsonb, source_id bigint, cost_micros bigint) ON COMMIT DELETE ROWS"
    )

    def prepare(self) -> None:
        self.cursor.execute(self.ddl)
        # Empty after every commit; DELETE (not TRUNCATE, which allocates new files) costs
        # nothing then, and clears what an earlier import in the same transaction left.
        self.cursor.execute(f"DELETE FROM {STAGE_TABLE}")
        self._dirty = False

    def close(self) -> None:
        self.cursor.close()  # the rows go at commit (or rollback)

    def load(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy(self._format(rows))

    def _copy(self, data: bytes) -> None:
        if self._dirty:  # an earlier chunk of this import: TRUNCATE, so the heap does not grow with dead rows
            self.cursor.execute(f"TRUNCATE {STAGE_TABLE}")
        raw = self.cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {STAGE_TABLE} ({_INSERT_COLUMNS}) FROM STDIN") as copy:
            copy.write(data)
        self._dirty = True

    def _format(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        """The rows as COPY text, formatted by psycopg without talking to the server."""
        from psycopg import Cursor
        from psycopg.copy import Copy, FileWriter

        buffer = io.BytesIO()
        with (
            Cursor(self.cursor.cursor.connection) as cursor,
            Copy(cursor, binary=False, writer=FileWriter(buffer)) as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        return buffer.getvalue()

    def write_all(self, chunks: Iterator[_Chunk], result: ImportResult) -> None:
        """Stage and insert each chunk while Python already reads the next one.

        The INSERT is sent in pipeline mode, so the server maintains the indexes and
        checks the foreign keys (made immediate for the import, instead of all at
        commit) while this process parses the following chunk and formats it for COPY.
        """
        from psycopg import Cursor

        pgconn = self.cursor.cursor.connection
        foreign_keys = self._deferred_foreign_keys()
        if foreign_keys:
            self.cursor.execute(f"SET CONSTRAINTS {foreign_keys} IMMEDIATE")
        insert = Cursor(pgconn)
        counted_insert = summary.counted_insert_sql(_INSERT_SQL, self.tz)  # the billing summary, same statement
        chunk = next(chunks, None)
        data = self._format(chunk.rows) if chunk is not None else b""
        while chunk is not None:
            self._copy(data)
            before = self.max_id()
            with pgconn.pipeline():
                insert.execute(counted_insert, [self.entity_id, self.created_at])
                following = next(chunks, None)
                data = self._format(following.rows) if following is not None else b""
            inserted, partner_ids = insert.fetchone()
            stamps.changed(self.entity_id, partner_ids)
            self.account(chunk, inserted, before, result)
            chunk = following
        insert.close()
        if foreign_keys:
            self.cursor.execute(f"SET CONSTRAINTS {foreign_keys} DEFERRED")

    def _deferred_foreign_keys(self) -> str:
        """The table's deferred foreign keys, looked up once per database and process."""
        key = connection.settings_dict["NAME"]
        if key not in _DEFERRED_FOREIGN_KEYS:
            self.cursor.execute(
                "SELECT string_agg(quote_ident(conname), ', ') FROM pg_constraint "
                "WHERE conrelid = 'deliveries_delivery'::regclass AND contype = 'f' AND condeferred"
            )
            _DEFERRED_FOREIGN_KEYS[key] = self.cursor.fetchone()[0] or ""
        return _DEFERRED_FOREIGN_KEYS[key]

    def clear(self) -> None:
        """Emptied before the next chunk is loaded (`load`), or at commit after the last one."""


class _SqliteStage(_Stage):
    same_operator = "IS"
    ddl = (
        f"CREATE TEMP TABLE {STAGE_TABLE} (external_id TEXT, partner_id INTEGER, profile_id INTEGER, "
        "lead_type_id INTEGER, lead_id TEXT, delivered_at TEXT, price_micros INTEGER, currency TEXT, "
        "fields TEXT, source_id INTEGER, cost_micros INTEGER)"
    )
    _load_sql = f"INSERT INTO {STAGE_TABLE} VALUES ({', '.join('?' * len(STAGE_COLUMNS))})"

    def timestamp(self) -> Callable[[datetime], Any] | None:
        return sqlite_timestamp

    def load(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.cursor.cursor.executemany(self._load_sql, rows)  # the sqlite3 cursor: '?' placeholders

    def clear(self) -> None:
        self.cursor.execute(f"DELETE FROM {STAGE_TABLE}")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _stage(entity: Entity, stamp: datetime) -> _Stage:
    if connection.vendor == "postgresql":
        return _PostgresStage(entity.pk, stamp, entity.timezone)
    if connection.vendor == "sqlite":
        return _SqliteStage(entity.pk, stamp, entity.timezone)
    raise NotImplementedError(f"delivery import on {connection.vendor}")


def deliveries_import(
    *,
    actor: str,
    entity: Entity,
    stream: TextIO,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    file_name: str = "",
    chunk_rows: int = CHUNK_ROWS,
) -> ImportResult:
    """Import a delivery CSV (docs/csv-import.md); good rows are kept unless all_or_nothing.

    A row whose external id is already there with the same data counts as already
    present, so importing a file twice adds nothing.
    """
    result = ImportResult(file_name=file_name)
    header, records = _records(stream, result)
    codes = delivery_codes(entity)
    stamp = timezone.now()
    try:
        with transaction.atomic():
            stage = _stage(entity, stamp)
            parse = DeliveryRowParser(header, codes, timestamp=stage.timestamp()).parse
            stage.write_all(_delivery_chunks(records, parse, result, chunk_rows, progress), result)
            stage.close()
            if progress is not None:
                progress(result.rows)
            _finish_import(actor, entity, "deliveries.imported", result, all_or_nothing)
    except _Refused:
        _refused(result)
    return result


def _delivery_chunks(
    records: Iterable[tuple[int, Any]],
    parse: Callable[[Any], tuple[Any, ...]],
    result: ImportResult,
    chunk_rows: int,
    progress: Progress | None,
) -> Iterator[_Chunk]:
    """Parse the records into chunks of good rows; bad rows and repeated ids go to `result`.

    This is the per-row hot path: a parse call, a dict lookup and an append.
    """
    rows: list[tuple[Any, ...]] = []
    first_row: dict[str, int] = {}
    for row_no, record in records:
        result.rows += 1
        try:
            values = parse(record)
        except DomainError as exc:
            result.add_error(row_no, exc.field, exc.message)
            continue
        external_id = values[0]
        earlier = first_row.get(external_id)
        if earlier is not None:
            result.add_error(row_no, "external_id", f"{external_id!r} already appears on row {earlier}")
            continue
        first_row[external_id] = row_no
        rows.append(values)
        if len(rows) >= chunk_rows:
            if progress is not None:
                progress(result.rows)
            yield _Chunk(rows, first_row)
            rows, first_row = [], {}
    if rows:
        yield _Chunk(rows, first_row)


def deliveries_receive(
    *, actor: str, entity: Entity, rows: Sequence[Any], all_or_nothing: bool = False
) -> ImportResult:
    """Record a batch of deliveries pushed by another system (the API's batch endpoint).

    The same path as a file import: rows are validated one by one (row numbers are the
    indexes in `rows`), staged and written set-based in one transaction with one audit
    row. A replayed batch creates nothing: every row is already present.
    """
    result = ImportResult(file_name="api")
    codes = delivery_codes(entity)
    stamp = timezone.now()
    try:
        with transaction.atomic():
            stage = _stage(entity, stamp)
            parse = DeliveryMappingParser(codes, timestamp=stage.timestamp()).parse
            stage.write_all(_delivery_chunks(enumerate(rows), parse, result, CHUNK_ROWS, None), result)
            stage.close()
            _finish_import(actor, entity, "deliveries.received", result, all_or_nothing)
    except _Refused:
        _refused(result)
    return result


class ExternalIdConflict(DomainError):
    """The external id is taken by a delivery with other data."""

    code = "conflict"


def delivery_record(*, actor: str, entity: Entity, **fields: Any) -> tuple[Delivery, bool]:
    """Record one delivery given as keywords (Python callers: datetimes, Decimals, model objects)."""
    return delivery_record_row(actor=actor, entity=entity, row=fields, strict=False)


def delivery_record_row(
    *, actor: str, entity: Entity, row: Mapping[str, Any], strict: bool = True
) -> tuple[Delivery, bool]:
    """Record one delivery, validated like an import row; returns (delivery, created).

    `strict` reads `row` as JSON, like the batch endpoint (text values only). The same
    external id with the same data returns the existing delivery; with different data
    it is refused.
    """
    parsed = DeliveryMappingParser(delivery_codes(entity), strict=strict).parse(row)
    values = DeliveryRow(parsed).as_model_kwargs()
    with transaction.atomic():
        existing = Delivery.objects.select_for_update().filter(entity=entity, external_id=values["external_id"]).first()
        if existing is None:
            try:
                with transaction.atomic():
                    delivery = Delivery.objects.create(entity=entity, **values)
            except IntegrityError:  # the same external id recorded concurrently: compare with that one
                existing = Delivery.objects.get(entity=entity, external_id=values["external_id"])
            else:
                summary.add_delivery(entity.pk, entity.timezone, delivery.pk)
                audit_record(actor=actor, action="delivery.recorded", obj=delivery, entity=entity)
                return delivery, True
        if any(getattr(existing, name) != value for name, value in values.items()):
            raise ExternalIdConflict(
                f"{values['external_id']!r} already exists with different data", field="external_id"
            )
        return existing, False


# --- returns ---------------------------------------------------------------------------------


def _percent(numerator: int, denominator: int = 1) -> str:
    """numerator/denominator basis points as a percentage with two decimals, truncated."""
    basis_points = numerator // denominator
    return f"{basis_points // 100}.{basis_points % 100:02d} %"


def _check_policy(delivery: Delivery, partner: Partner, requested_at: datetime) -> None:
    """Refuse a return the partner's policy does not allow (runs with the partner row locked)."""
    if not partner.returns_allowed:
        raise DomainError(f"partner {partner.code!r} does not accept returns", field="partner")
    if requested_at < delivery.delivered_at:
        raise DomainError("the return is requested before the lead was delivered", field="requested_at")
    age = requested_at - delivery.delivered_at
    if partner.return_max_age_days is not None and age.total_seconds() > partner.return_max_age_days * 86400:
        raise DomainError(
            f"the lead was delivered {age.days} days before the request; partner {partner.code!r} "
            f"accepts returns up to {partner.return_max_age_days} days",
            field="requested_at",
        )
    if partner.return_max_share_bp is not None:
        period = delivery_month(delivery, delivery.entity.timezone)
        returned, delivered = return_share_counts(partner, period)
        if (returned + 1) * 10_000 > partner.return_max_share_bp * delivered:
            raise DomainError(
                f"returning this lead would make {returned + 1} of {delivered} leads of {period.key} returned "
                f"({_percent((returned + 1) * 10_000, max(delivered, 1))}), above partner {partner.code!r}'s limit "
                f"of {_percent(partner.return_max_share_bp)}",
                field="share",
            )


def return_request(*, actor: str, delivery: Delivery, reason: str, requested_at: datetime | None = None) -> Return:
    """Request the return of a delivered lead, under its partner's return policy.

    The partner row is locked while the share of returned leads is counted, so two
    requests cannot both slip under the limit. With auto-accept the return is
    accepted at once by "system:auto-accept".
    """
    reason = check_text((reason or "").strip(), field="reason")  # one line: refused, not cleaned
    if not reason:
        raise DomainError("give the reason of the return", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError(f"the reason is longer than {MAX_REASON_LENGTH} characters", field="reason")
    requested_at = requested_at or timezone.now()
    if requested_at.tzinfo is None:
        raise DomainError("give the time zone of requested_at", field="requested_at")
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=delivery.partner_id)
        if Return.objects.filter(
            delivery=delivery, status__in=[ReturnStatus.REQUESTED, ReturnStatus.ACCEPTED]
        ).exists():
            raise AlreadyReturned(f"lead {delivery.external_id!r} already has a return", field="external_id")
        _check_policy(delivery, partner, requested_at)
        auto = partner.return_auto_accept
        try:
            with transaction.atomic():
                ret = Return.objects.create(
                    entity_id=delivery.entity_id,
                    delivery=delivery,
                    reason=reason,
                    requested_at=requested_at,
                    status=ReturnStatus.ACCEPTED if auto else ReturnStatus.REQUESTED,
                    decided_at=requested_at if auto else None,
                    decided_by=AUTO_ACCEPT_ACTOR if auto else "",
                )
        except IntegrityError:  # a concurrent request won the one-open-return index
            raise AlreadyReturned(f"lead {delivery.external_id!r} already has a return", field="external_id") from None
        if auto:
            _recount(delivery)
        audit_record(
            actor=actor,
            action="return.requested",
            obj=ret,
            entity=delivery.entity,
            delivery=delivery.external_id,
            reason=reason,
            status=ret.status,
        )
    return ret


MAX_RETURN_BATCH = 1_000  # leads one portal submit or upload may return


@dataclass
class ReturnBatch:
    """What a batch of return requests did: the returns made, and each refusal by its position."""

    requested: list[Return] = field(default_factory=list)
    errors: list[tuple[int, Delivery, DomainError]] = field(default_factory=list)


def returns_request_many(
    *, actor: str, partner: Partner, requests: Sequence[tuple[Delivery, str]], requested_at: datetime | None = None
) -> ReturnBatch:
    """Request the return of several of a partner's leads at once (the portal's selection or upload).

    One transaction: each lead goes through `return_request` (its policy, its audit row) in a
    savepoint, so a lead the policy refuses stops no other and the share limit counts the
    ones requested before it. One more audit row records the batch.
    """
    if len(requests) > MAX_RETURN_BATCH:
        raise DomainError(f"at most {MAX_RETURN_BATCH} leads at once, got {len(requests)}", field="leads")
    requested_at = requested_at or timezone.now()
    batch = ReturnBatch()
    with transaction.atomic():
        for index, (delivery, reason) in enumerate(requests):
            if delivery.partner_id != partner.pk:
                batch.errors.append((index, delivery, DomainError("not delivered to this partner", field="lead")))
                continue
            delivery.entity = partner.entity
            try:
                with transaction.atomic():
                    batch.requested.append(
                        return_request(actor=actor, delivery=delivery, reason=reason, requested_at=requested_at)
                    )
            except DomainError as exc:
                batch.errors.append((index, delivery, exc))
        if batch.requested:
            audit_record(actor=actor, action="returns.requested", obj=partner, entity=partner.entity,
                         requested=len(batch.requested), refused=len(batch.errors),
                         returns=[ret.pk for ret in batch.requested])  # fmt: skip
    return batch


def _decide(*, actor: str, ret: Return, status: str, note: str) -> Return:
    check_text(note, field="note", multiline=True)
    if len(note) > MAX_NOTE_LENGTH:
        raise DomainError(f"the note is longer than {MAX_NOTE_LENGTH} characters", field="note")
    with transaction.atomic():
        locked = Return.objects.select_for_update().get(pk=ret.pk)
        if locked.status != ReturnStatus.REQUESTED:
            verb = "accepted" if status == ReturnStatus.ACCEPTED else "rejected"
            raise StateError(
                f"return {locked.pk} is {locked.status}; only a requested return can be {verb}", field="status"
            )
        locked.status = status
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.decision_note = note
        locked.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        if status == ReturnStatus.ACCEPTED:
            _recount(locked.delivery)
        audit_record(actor=actor, action=f"return.{status}", obj=locked, entity=ret.entity, note=note)
    for name in ("status", "decided_at", "decided_by", "decision_note"):
        setattr(ret, name, getattr(locked, name))
    return ret


def _recount(delivery: Delivery) -> None:
    """The billing summary of the delivery's partner-day, after its return was accepted."""
    summary.recount_deliveries(
        delivery.entity_id, delivery.entity.timezone, [(delivery.partner_id, delivery.delivered_at)]
    )


def return_accept(*, actor: str, ret: Return, note: str = "") -> Return:
    """Accept a requested return: the lead will be credited."""
    return _decide(actor=actor, ret=ret, status=ReturnStatus.ACCEPTED, note=note.strip())


def return_reject(*, actor: str, ret: Return, note: str) -> Return:
    """Reject a requested return; the partner is told why, so a reason is required."""
    note = (note or "").strip()
    if not note:
        raise DomainError("give the reason for rejecting the return", field="note")
    return _decide(actor=actor, ret=ret, status=ReturnStatus.REJECTED, note=note)


@dataclass
class DecideResult:
    decided: list[Return] = field(default_factory=list)
    errors: list[tuple[Return, str]] = field(default_factory=list)


def returns_decide(*, actor: str, returns: Iterable[Return], accept: bool, note: str = "") -> DecideResult:
    """Accept or reject several returns, each in its own transaction: one refusal stops no other."""
    if not accept and not (note or "").strip():
        raise DomainError("give the reason for rejecting the returns", field="note")
    check_text(note or "", field="note", multiline=True)
    result = DecideResult()
    for ret in returns:
        try:
            if accept:
                result.decided.append(return_accept(actor=actor, ret=ret, note=note))
            else:
                result.decided.append(return_reject(actor=actor, ret=ret, note=note))
        except DomainError as exc:
            result.errors.append((ret, exc.message))
    return result


def returns_import(
    *,
    actor: str,
    entity: Entity,
    stream: TextIO,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    file_name: str = "",
) -> ImportResult:
    """Import a returns CSV: requests under the return policy, or decisions made elsewhere.

    A delivery that already has a requested or accepted return is "already present";
    a row with status accepted/rejected decides a return still requested.
    """
    result = ImportResult(file_name=file_name)
    header, records = _records(stream, result)
    _write_returns(actor, entity, records, ReturnRowParser(header).parse, result, all_or_nothing, progress)
    return result


def returns_receive(*, actor: str, entity: Entity, rows: Sequence[Any], all_or_nothing: bool = False) -> ImportResult:
    """Requests (or decisions made elsewhere) for many returns at once, pushed over the API.

    Rows are numbered by their index in `rows`; like a returns file, a replay adds nothing.
    """
    result = ImportResult(file_name="api")
    _write_returns(actor, entity, enumerate(rows), ReturnMappingParser().parse, result, all_or_nothing, None)
    return result


def _write_returns(
    actor: str,
    entity: Entity,
    records: Iterable[tuple[int, Any]],
    parse: Callable[[Any], ReturnRow],
    result: ImportResult,
    all_or_nothing: bool,
    progress: Progress | None,
) -> None:
    seen: dict[str, int] = {}
    try:
        with transaction.atomic():
            chunk: list[tuple[int, ReturnRow]] = []
            for row_no, record in records:
                result.rows += 1
                try:
                    row = parse(record)
                except DomainError as exc:
                    result.add_error(row_no, exc.field, exc.message)
                    continue
                if (earlier := seen.get(row.external_id)) is not None:
                    result.add_error(row_no, "external_id", f"{row.external_id!r} already appears on row {earlier}")
                    continue
                seen[row.external_id] = row_no
                chunk.append((row_no, row))
                if len(chunk) >= RETURN_CHUNK_ROWS:
                    _import_returns_chunk(actor, entity, chunk, result)
                    chunk = []
                    if progress is not None:
                        progress(result.rows)
            _import_returns_chunk(actor, entity, chunk, result)
            if progress is not None:
                progress(result.rows)
            _finish_import(actor, entity, "returns.imported", result, all_or_nothing, decided=result.decided)
    except _Refused:
        _refused(result)


def _import_returns_chunk(actor: str, entity: Entity, chunk: list[tuple[int, ReturnRow]], result: ImportResult) -> None:
    if not chunk:
        return
    deliveries = deliveries_by_external_id(entity, (row.external_id for _, row in chunk))
    open_returns = open_returns_by_delivery(d.pk for d in deliveries.values())
    for row_no, row in chunk:
        delivery = deliveries.get(row.external_id)
        if delivery is None:
            result.add_error(row_no, "external_id", f"no delivery with external_id {row.external_id!r}")
            continue
        delivery.entity = entity
        try:
            _import_return_row(actor, delivery, open_returns.get(delivery.pk), row, result)
        except DomainError as exc:
            result.add_error(row_no, exc.field, exc.message)


def _import_return_row(
    actor: str, delivery: Delivery, existing: Return | None, row: ReturnRow, result: ImportResult
) -> None:
    if existing is not None:
        if row.status is None or row.status == existing.status:
            result.already_present += 1
        elif existing.status == ReturnStatus.REQUESTED:
            if row.status == ReturnStatus.ACCEPTED:
                return_accept(actor=actor, ret=existing)
            else:
                return_reject(actor=actor, ret=existing, note=row.reason)
            result.decided += 1
        else:
            raise DomainError(f"the return of {row.external_id!r} is already {existing.status}", field="status")
        return
    if row.status == ReturnStatus.REJECTED:
        _import_rejected(actor, delivery, row, result)
        return
    ret = return_request(actor=actor, delivery=delivery, reason=row.reason, requested_at=row.requested_at)
    if row.status == ReturnStatus.ACCEPTED and ret.status == ReturnStatus.REQUESTED:
        return_accept(actor=actor, ret=ret)
    result.created += 1


def _import_rejected(actor: str, delivery: Delivery, row: ReturnRow, result: ImportResult) -> None:
    """A return rejected elsewhere: recorded once (same reason and request time), no policy applies."""
    requested_at = row.requested_at
    earlier = Return.objects.filter(delivery=delivery, status=ReturnStatus.REJECTED, reason=row.reason)
    if requested_at is not None:
        earlier = earlier.filter(requested_at=requested_at)
    if earlier.exists():
        result.already_present += 1
        return
    now = timezone.now()
    with transaction.atomic():
        ret = Return.objects.create(
            entity_id=delivery.entity_id,
            delivery=delivery,
            reason=row.reason,
            requested_at=requested_at or now,
            status=ReturnStatus.REJECTED,
            decided_at=now,
            decided_by=actor,
            decision_note=row.reason,
        )
        audit_record(
            actor=actor, action="return.rejected", obj=ret, entity=delivery.entity, delivery=delivery.external_id
        )
    result.created += 1


# --- delivery files uploaded in the console --------------------------------------------------

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # about half a million rows; a bigger file is the CLI's job


def delivery_import_queue(*, actor: str, entity: Entity, content: bytes, file_name: str) -> DeliveryImport:
    """Keep an uploaded delivery CSV and queue its import (`deliveries_import`, in a task).

    The request only stores the bytes: the rows are read by the task, so a large file never
    holds a web worker (with the inline backend of the embedded set-up it runs after commit).
    """
    if not content:
        raise DomainError("the file is empty (expected a header line)", field="file")
    if len(content) > MAX_UPLOAD_BYTES:
        raise DomainError(f"{file_name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                          "import it with `leadbill import deliveries`", field="file")  # fmt: skip
    from leadbill.background import task_named
    from leadbill.engine.kick import enqueue_on_commit

    delivery_import_task = task_named("delivery_import_task")

    name = check_text(file_name.strip()[:200] or "deliveries.csv", field="file")
    with transaction.atomic():
        upload = DeliveryImport.objects.create(
            entity=entity, file_name=name, content=content, size_bytes=len(content), created_by=actor
        )
        audit_record(actor=actor, action="deliveries.import_queued", obj=upload, entity=entity, file=name,
                     bytes=len(content))  # fmt: skip
        enqueue_on_commit(delivery_import_task, upload.pk)
    return upload


class _ProgressWriter:
    """Reports an import's progress from inside its transaction.

    The import is one transaction, so a progress row written through its own connection
    would only show at the end. On PostgreSQL a second connection writes it at once (the row
    is not touched by the import); SQLite has one writer at a time, so there the page shows
    the progress when the import ends.
    """

    def __init__(self, pk: int, raw: io.BytesIO) -> None:
        self.pk, self.raw = pk, raw
        self.connection = None
        if connection.vendor == "postgresql":
            from django.db import connections

            self.connection = connections.create_connection(connection.alias)

    def __call__(self, rows: int) -> None:
        if self.connection is None:
            return
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {DeliveryImport._meta.db_table} SET rows_read = %s, bytes_read = %s WHERE id = %s",
                [rows, self.raw.tell(), self.pk],
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def delivery_import_run(pk: int) -> DeliveryImport:
    """Import a queued upload through `deliveries_import` (the CLI's path), keep its result.

    Good rows are kept and bad ones listed by row and field. A finished upload is returned as
    it is; one still "running" is run again, since a job is only handed out again when its
    worker died, and then its import transaction was rolled back (and an import twice adds
    nothing twice: rows already there count as already present).
    """
    unfinished = (ImportState.QUEUED, ImportState.RUNNING)
    claimed = DeliveryImport.objects.filter(pk=pk, state__in=unfinished).update(state=ImportState.RUNNING)
    upload = DeliveryImport.objects.select_related("entity").get(pk=pk)
    if not claimed:
        return upload
    raw = io.BytesIO(bytes(upload.content))
    progress = _ProgressWriter(upload.pk, raw)
    try:
        # utf-8-sig: a byte-order mark written by spreadsheet programs is not part of the header.
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        result = deliveries_import(actor=upload.created_by, entity=upload.entity, stream=stream,
                                   progress=progress, file_name=upload.file_name)  # fmt: skip
    except UnicodeDecodeError as exc:
        upload.state, upload.error = ImportState.FAILED, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except DomainError as exc:
        upload.state, upload.error = ImportState.FAILED, f"{exc.field or 'file'}: {exc.message}"[:500]
    else:
        upload.state, upload.result, upload.rows_read = ImportState.DONE, result.as_dict(), result.rows
    finally:
        progress.close()
    upload.bytes_read, upload.content, upload.finished_at = upload.size_bytes, b"", timezone.now()
    upload.save(update_fields=["state", "error", "result", "rows_read", "bytes_read", "content", "finished_at"])
    return upload


# --- the billing summary -----------------------------------------------------------------------


def billing_summary_verify(*, entity: Entity) -> list[str]:
    """How the entity's billing summary differs from a recount of its deliveries (empty: it agrees)."""
    return summary.drift(entity.pk, entity.timezone)


def billing_summary_repair(*, actor: str, entity: Entity) -> list[str]:
    """Recount the entity's billing summary from its deliveries; returns the drift it repaired (audited)."""
    with transaction.atomic():
        Entity.objects.select_for_update().get(pk=entity.pk)  # no import or run of the entity meanwhile
        found = summary.drift(entity.pk, entity.timezone)
        if found:
            summary.rebuild(entity.pk, entity.timezone)
            audit_record(actor=actor, action="billing_summary.repaired", obj=entity, entity=entity,
                         differences=len(found), first=found[:20])  # fmt: skip
    return found
