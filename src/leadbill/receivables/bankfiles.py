"""Reading bank files: ISO 20022 camt.053 / camt.054 and a bank's CSV export, into bank lines.

Pure parsing: no database, no clock. Each credit or debit the bank booked becomes one
`BankLine`; an entry that batches several transactions (several TxDtls) becomes one line per
transaction, its reference the entry's plus the transaction's index (`REF/2`).

- camt: any version of camt.053.001.* (BkToCstmrStmt/Stmt/Ntry) or camt.054.001.*
  (BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry), recognised by the namespace and the element's local
  name. The XML is read with a hardened lxml parser (no entity resolved, no network, no DTD
  loaded, no huge tree) and a DOCTYPE is refused before any of its declarations is read. The
  file is all or nothing: a malformed entry refuses it with a DomainError naming the element
  (`Stmt[1]/Ntry[3]/Amt: not a decimal number`), since a statement is one document.
- CSV: the caller maps the bank's columns once ({date, amount, currency, reference, text,
  debtor, entry_id}); every cell goes through the file-text sanitiser. A bad row is reported
  by its line number and field, and the good rows are kept.

Amounts go through the project's one bounded amount reader (`amount_from_text`), as typed ones do.
Entries the bank has not booked yet (status PDNG or INFO) are skipped: the booked entry comes
later with the same reference, and recording the pending one would make it a duplicate.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from leadbill.domain.errors import DomainError
from leadbill.domain.money import amount_from_text, check_currency
from leadbill.domain.text import clean_text
from leadbill.xmlsafe import safe_root

MAX_FILE_BYTES = 20_000_000
MAX_CSV_ROWS = 200_000
MAX_CELL_CHARS = 1000
MAX_REFERENCE_CHARS = 90  # the column holds 100: room for "/<index>" after a bank reference
MAX_REMITTANCE_CHARS = 1000
MAX_NAME_CHARS = 200

CAMT_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[34])\.001\.[0-9]{2}")
ROOT_OF = {"053": ("BkToCstmrStmt", "Stmt"), "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
CREDIT, DEBIT = "CRDT", "DBIT"
NOT_BOOKED = {"PDNG", "INFO", "FUTR"}
XML_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

CSV_FIELDS = ("date", "amount", "currency", "reference", "text", "debtor", "entry_id")
CSV_REQUIRED = ("date", "amount")


@dataclass(frozen=True, slots=True)
class BankLine:
    """One credit (amount_minor > 0) or debit (< 0) the bank booked on an account."""

    account: str
    reference: str  # the bank's entry reference, or a hash of the entry
    booked_on: date
    amount_minor: int
    currency: str
    debtor: str = ""
    remittance: str = ""  # unstructured remittance text (Ustrd lines joined by a space)
    structured_reference: str = ""  # RmtInf/Strd/CdtrRefInf/Ref, e.g. an RF reference
    where: str = ""  # the element path or CSV line, for messages

    @property
    def is_credit(self) -> bool:
        return self.amount_minor > 0


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A CSV row that was not read: its line number, the field, why."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.row}, {self.field}: {self.message}"


@dataclass
class Parsed:
    lines: list[BankLine] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    not_booked: int = 0  # pending or informational entries, skipped


def looks_like_xml(content: bytes) -> bool:
    """Starts with `<` after an optional byte order mark and blanks, in UTF-8 or UTF-16 alike."""
    for bom in XML_BOMS:
        content = content.removeprefix(bom)
    return content[:400].lstrip(b" \t\r\n\x00").startswith(b"<")


def _bounded(content: bytes, name: str) -> None:
    if len(content) > MAX_FILE_BYTES:
        raise DomainError(f"{name} is {len(content):,} bytes; at most {MAX_FILE_BYTES:,}", field="file")
    if not content.strip():
        raise DomainError(f"{name} is empty", field="file")


# --- camt.053 / camt.054 ----------------------------------------------------------------------


def _xml_root(content: bytes, name: str) -> Any:
    """The document's root, read by the one hardened reader (`leadbill.xmlsafe`)."""
    return safe_root(content, name, "a bank statement", strip=True)


class _Camt:
    """Navigation by local names inside one camt namespace, with the element path for messages."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def q(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, el: Any, path: str) -> Any:
        return el.find(self.q(path))

    def findall(self, el: Any, path: str) -> list[Any]:
        return list(el.iterfind(self.q(path)))

    def text(self, el: Any, path: str, *, limit: int = MAX_CELL_CHARS) -> str:
        found = el.find(self.q(path))
        if found is None or found.text is None:
            return ""
        return clean_text(found.text.strip())[:limit]

    def first(self, el: Any, *paths: str, limit: int = MAX_CELL_CHARS) -> str:
        for path in paths:
            if value := self.text(el, path, limit=limit):
                return value
        return ""


def _amount(camt: _Camt, el: Any, where: str) -> tuple[int, str]:
    """The Amt element under `el`, in minor units of its Ccy; DomainError naming `where`/Amt."""
    amt = camt.find(el, "Amt")
    if amt is None:
        raise DomainError("missing", field=f"{where}/Amt")
    currency = (amt.get("Ccy") or "").strip()
    try:
        check_currency(currency)
    except DomainError as exc:
        raise DomainError(exc.message, field=f"{where}/Amt/@Ccy") from None
    try:
        minor = amount_from_text(amt.text or "", currency, field=f"{where}/Amt")
        if minor < 0:
            raise DomainError("a camt amount is never negative (CdtDbtInd gives the direction)", field=f"{where}/Amt")
        return minor, currency
    except DomainError as exc:
        raise DomainError(exc.message.split(":")[0], field=f"{where}/Amt") from None


def _direction(camt: _Camt, el: Any, where: str, default: str | None = None) -> str:
    indicator = camt.text(el, "CdtDbtInd")
    if not indicator and default is not None:
        return default
    if indicator not in (CREDIT, DEBIT):
        raise DomainError(f"expected CRDT or DBIT, got {indicator[:10]!r}", field=f"{where}/CdtDbtInd")
    return indicator


def _booked_on(camt: _Camt, entry: Any, where: str) -> date:
    text = camt.text(entry, "BookgDt/Dt")
    if text:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise DomainError(f"not a date: {text[:20]!r}", field=f"{where}/BookgDt/Dt") from None
    text = camt.text(entry, "BookgDt/DtTm")
    if text:
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise DomainError(f"not a date and time: {text[:40]!r}", field=f"{where}/BookgDt/DtTm") from None
    raise DomainError("missing (Dt or DtTm)", field=f"{where}/BookgDt")


def _account(camt: _Camt, report: Any, where: str) -> str:
    account = camt.first(report, "Acct/Id/IBAN", "Acct/Id/Othr/Id", limit=64).replace(" ", "").upper()
    if not account:
        raise DomainError("no IBAN or other account id", field=f"{where}/Acct/Id")
    return account


def _entry_hash(entry: Any) -> str:
    from lxml import etree

    return "H" + hashlib.sha256(etree.tostring(entry, method="c14n")).hexdigest()[:40]


def _details(camt: _Camt, tx: Any) -> tuple[str, str, str]:
    """(debtor, remittance text, structured reference) of one TxDtls."""
    debtor = camt.first(tx, "RltdPties/Dbtr/Pty/Nm", "RltdPties/Dbtr/Nm", limit=MAX_NAME_CHARS)
    remittance = " ".join(
        clean_text(u.text.strip()) for u in camt.findall(tx, "RmtInf/Ustrd") if u.text and u.text.strip()
    )[:MAX_REMITTANCE_CHARS]
    structured = camt.text(tx, "RmtInf/Strd/CdtrRefInf/Ref", limit=100)
    return debtor, remittance, structured


def parse_camt(content: bytes, name: str = "statement") -> Parsed:
    """The bank lines of a camt.053 statement or camt.054 notification; DomainError naming the element."""
    _bounded(content, name)
    root = _xml_root(content, name)
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    matched = CAMT_NAMESPACE.fullmatch(namespace)
    if local != "Document" or matched is None:
        raise DomainError(
            f"{name} is not an ISO 20022 camt.053 or camt.054 document (root {local or tag!r} in {namespace!r})",
            field="file",
        )
    camt = _Camt(namespace)
    message, report_name = ROOT_OF[matched.group(1)]
    body = camt.find(root, message)
    if body is None:
        raise DomainError(f"missing (camt.{matched.group(1)} has one)", field=message)
    parsed = Parsed()
    seen_hashes: dict[str, int] = {}
    for r, report in enumerate(camt.findall(body, report_name), start=1):
        where_report = f"{report_name}[{r}]"
        account = _account(camt, report, where_report)
        for n, entry in enumerate(camt.findall(report, "Ntry"), start=1):
            where = f"{where_report}/Ntry[{n}]"
            status = camt.first(entry, "Sts/Cd", "Sts")
            if status in NOT_BOOKED:
                parsed.not_booked += 1
                continue
            parsed.lines.extend(_entry_lines(camt, entry, where, account, seen_hashes))
    return parsed


def _entry_lines(camt: _Camt, entry: Any, where: str, account: str, seen_hashes: dict[str, int]) -> list[BankLine]:
    amount, currency = _amount(camt, entry, where)
    direction = _direction(camt, entry, where)
    if camt.text(entry, "RvslInd").lower() == "true":  # a reversal: a credit taken back is money going out
        direction = DEBIT if direction == CREDIT else CREDIT
    booked_on = _booked_on(camt, entry, where)
    reference = camt.first(entry, "AcctSvcrRef", "NtryRef", limit=MAX_REFERENCE_CHARS)
    if not reference:
        digest = _entry_hash(entry)
        seen_hashes[digest] = seen_hashes.get(digest, 0) + 1  # two identical entries in one file stay two
        reference = digest if seen_hashes[digest] == 1 else f"{digest}-{seen_hashes[digest]}"
    transactions = camt.findall(entry, "NtryDtls/TxDtls")

    def line(tx_amount: int, tx_direction: str, ref: str, tx: Any, tx_where: str) -> BankLine:
        debtor, remittance, structured = _details(camt, tx) if tx is not None else ("", "", "")
        signed = tx_amount if tx_direction == CREDIT else -tx_amount
        return BankLine(account=account, reference=ref, booked_on=booked_on, amount_minor=signed, currency=currency,
                        debtor=debtor, remittance=remittance, structured_reference=structured, where=tx_where)  # fmt: skip

    if len(transactions) <= 1:
        return [line(amount, direction, reference, transactions[0] if transactions else None, where)]
    lines, total = [], 0
    for t, tx in enumerate(transactions, start=1):
        tx_where = f"{where}/NtryDtls/TxDtls[{t}]"
        holder = tx if camt.find(tx, "Amt") is not None else camt.find(tx, "AmtDtls/TxAmt")  # .08 / .02
        tx_amount, tx_currency = _amount(camt, tx if holder is None else holder, tx_where)
        if tx_currency != currency:
            raise DomainError(f"in {tx_currency}, the entry is in {currency}", field=f"{tx_where}/Amt/@Ccy")
        tx_direction = _direction(camt, tx, tx_where, default=direction)
        total += tx_amount if tx_direction == direction else -tx_amount
        lines.append(line(tx_amount, tx_direction, f"{reference}/{t}", tx, tx_where))
    if total != amount:
        raise DomainError(f"the {len(transactions)} transactions add up to {total} minor units, the entry to {amount}",
                          field=f"{where}/NtryDtls")  # fmt: skip
    return lines


# --- bank CSV ---------------------------------------------------------------------------------


def parse_columns(text: str) -> dict[str, str]:
    """`date=Booking date,amount=Amount,...` (the CLI's --columns) as a mapping; DomainError if unknown."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, header = part.partition("=")
        key = key.strip().lower()
        if not sep or not header.strip():
            raise DomainError(f"{part.strip()!r}: give field=Column header", field="columns")
        if key not in CSV_FIELDS:
            raise DomainError(f"unknown field {key!r} (known: {', '.join(CSV_FIELDS)})", field="columns")
        mapping[key] = header.strip()
    return mapping


def check_columns(columns: Mapping[str, str]) -> dict[str, str]:
    mapping = {str(k).strip().lower(): str(v).strip() for k, v in columns.items() if str(v).strip()}
    unknown = sorted(set(mapping) - set(CSV_FIELDS))
    if unknown:
        raise DomainError(f"unknown field {unknown[0]!r} (known: {', '.join(CSV_FIELDS)})", field="columns")
    missing = [key for key in CSV_REQUIRED if key not in mapping]
    if missing:
        raise DomainError(f"map the {' and '.join(missing)} column(s), e.g. date=Booking date", field="columns")
    return mapping


def _decode(content: bytes, name: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(f"{name} is not UTF-8 text (byte {exc.start})", field="file") from None


def _csv_date(text: str) -> date:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return date.fromisoformat(text)
    if found := re.fullmatch(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})", text):
        day, month, year = (int(g) for g in found.groups())
        return date(year, month, day)
    raise ValueError(text)


def parse_csv(
    content: bytes, columns: Mapping[str, str], *, account: str, currency: str, name: str = "statement.csv"
) -> Parsed:
    """The bank lines of a bank's CSV export; bad rows are listed in `problems`, good rows kept.

    `columns` maps Leadbill's fields to the file's headers; `currency` is the account's, used when
    no currency column is mapped. A negative amount is a debit.
    """
    _bounded(content, name)
    mapping = check_columns(columns)
    text = _decode(content, name)
    if "\x00" in text:
        raise DomainError(f"{name} holds NUL bytes: not a text file", field="file")
    first_line = text[:4096].split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # the bank's separator: the one its header uses most
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [clean_text(h).strip() for h in next(reader, [])]
    index = {h.casefold(): i for i, h in enumerate(header)}
    missing = [f"{key}={col!r}" for key, col in mapping.items() if col.casefold() not in index]
    if missing:
        raise DomainError(f"{name} has no column {', '.join(missing)} (its columns: {', '.join(header)[:300]})",
                          field="columns")  # fmt: skip
    where = {key: index[col.casefold()] for key, col in mapping.items()}
    parsed = Parsed()
    seen: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=2):
        if row_number > MAX_CSV_ROWS + 1:
            raise DomainError(f"{name} has more than {MAX_CSV_ROWS:,} rows", field="file")
        if not any(cell.strip() for cell in row):
            continue
        cells = {key: clean_text(row[i]).strip()[:MAX_CELL_CHARS] if i < len(row) else "" for key, i in where.items()}
        try:
            parsed.lines.append(_csv_line(cells, row, account, currency, row_number, seen))
        except DomainError as exc:
            parsed.problems.append(RowProblem(row_number, exc.field or "row", exc.message))
    return parsed


def _csv_line(
    cells: Mapping[str, str], row: Sequence[str], account: str, default_currency: str, row_number: int,
    seen: dict[str, int],
) -> BankLine:  # fmt: skip
    try:
        booked_on = _csv_date(cells["date"])
    except ValueError:
        raise DomainError(f"not a date (YYYY-MM-DD or DD.MM.YYYY): {cells['date'][:20]!r}", field="date") from None
    currency = (cells.get("currency") or default_currency).upper()
    try:
        check_currency(currency)
    except DomainError as exc:
        raise DomainError(exc.message, field="currency") from None
    if not cells["amount"]:
        raise DomainError("missing", field="amount")
    try:
        minor = amount_from_text(cells["amount"], currency, field="amount")
    except DomainError as exc:
        raise DomainError(exc.message, field="amount") from None
    if minor == 0:
        raise DomainError("an amount of zero is no payment", field="amount")
    reference = cells.get("entry_id", "")[:MAX_REFERENCE_CHARS]
    if not reference:
        digest = "H" + hashlib.sha256("\x1f".join(row).encode()).hexdigest()[:40]
        seen[digest] = seen.get(digest, 0) + 1
        reference = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
    return BankLine(
        account=account, reference=reference, booked_on=booked_on, amount_minor=minor, currency=currency,
        debtor=cells.get("debtor", "")[:MAX_NAME_CHARS], remittance=cells.get("text", "")[:MAX_REMITTANCE_CHARS],
        structured_reference=cells.get("reference", "")[:100], where=f"line {row_number}",
    )  # fmt: skip


def detect_format(content: bytes) -> str:
    return "camt" if looks_like_xml(content) else "csv"


__all__ = [
    "BankLine",
    "Parsed",
    "RowProblem",
    "check_columns",
    "detect_format",
    "parse_camt",
    "parse_columns",
    "parse_csv",
]
