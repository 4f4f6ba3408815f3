"""DATEV: EXTF Buchungsstapel (format category 21, version 700 / format version 13), CP1252, semicolons.

The layout is DATEV's "DATEV-Format" for Buchungsstapel (DATEV Developer Portal,
https://developer.datev.de/datev/platform/de/dtvf/formate/buchungsstapel; header fields in
https://developer.datev.de/datev/platform/de/dtvf/formate/header):

- line 1, the header: "EXTF";700;21;"Buchungsstapel";13;created (YYYYMMDDHHMMSSFFF);;"RE"
  (Herkunft);exported by;;Berater;Mandant;WJ-Beginn (YYYYMMDD);Sachkontenlänge;Datum vom;Datum bis;
  Bezeichnung;Diktatkürzel;Buchungstyp 1 (Finanzbuchführung);Rechnungslegungszweck 0;Festschreibung 0;
  WKZ;;Derivatskennzeichen;;;SKR;Branchenlösungs-ID;;;Anwendungsinformation (31 fields);
- line 2, the column names; we write the first 20 of format version 13, up to Beleglink, which
  DATEV reads by name: Umsatz (ohne Soll/Haben-Kz), Soll/Haben-Kennzeichen, WKZ Umsatz, Kurs,
  Basis-Umsatz, WKZ Basis-Umsatz, Konto, Gegenkonto (ohne BU-Schlüssel), BU-Schlüssel, Belegdatum,
  Belegfeld 1, Belegfeld 2, Skonto, Buchungstext, Postensperre, Diverse Adressnummer,
  Geschäftspartnerbank, Sachverhalt, Zinssperre, Beleglink;
- then one booking per row: the amount always positive with a decimal comma, "S" when Konto is
  debited, "H" when it is credited; Belegdatum DDMM (the year is the batch's); Belegfeld 1 the
  document number; Buchungstext at most 60 characters.

A DATEV booking is gross: with a BU-Schlüssel on the line, DATEV splits the tax out itself onto its
automatic tax account. So each document gives one row per (revenue or cost account, tax rate): its
net plus its share of that rate's tax (the document's own tax per rate, shared over the accounts by
the same rounding, the last account taking the remainder), Konto the party account (receivables /
payables), Gegenkonto the revenue (cost) account, BU-Schlüssel the rate's code. Money events are
one row, Konto the debit account, Gegenkonto the credit account.

The batch must lie in one fiscal year (from the mapping's first month); Berater and Mandant numbers
must be set. Accounts must be digits; Belegfeld 1 takes DATEV's characters only (letters, digits,
$ & % * + - /), at most 36; a document number outside that refuses the export by name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from leadbill.books.formats.common import ExportRefused, File, amount, identifier, percent
from leadbill.books.selectors import Period
from leadbill.domain import journal as j
from leadbill.domain.rounding import tax_minor

FORMAT_VERSION = 700
CATEGORY = 21
CATEGORY_NAME = "Buchungsstapel"
CATEGORY_VERSION = 13
COLUMNS = ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs", "Basis-Umsatz",
           "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum",
           "Belegfeld 1", "Belegfeld 2", "Skonto", "Buchungstext", "Postensperre", "Diverse Adressnummer",
           "Geschäftspartnerbank", "Sachverhalt", "Zinssperre", "Beleglink"]  # fmt: skip
_BELEGFELD = re.compile(r"[A-Za-z0-9$&%*+\-/]{1,36}")
_ACCOUNT = re.compile(r"[0-9]{1,9}")
TEXT_MAX = 60


def _q(value: str) -> str:
    """A DATEV text field: in double quotes, a quote doubled."""
    return '"' + value.replace('"', '""') + '"'


def _umsatz(minor: int, currency: str) -> str:
    return f"{amount(abs(minor), currency):f}".replace(".", ",")


def fiscal_year_start(day: date, first_month: int) -> date:
    year = day.year if day.month >= first_month else day.year - 1
    return date(year, first_month, 1)


def _account(value: str, document: str) -> str:
    identifier(value, what="account", document=document)
    if not _ACCOUNT.fullmatch(value):
        raise ExportRefused(f"{document}: DATEV takes account numbers of digits only, got {value!r}", field="account")
    return value


def _belegfeld(number: str, document: str, *, strict: bool) -> str:
    if _BELEGFELD.fullmatch(number) and not number.startswith(("+", "-")):
        return number
    if strict:
        raise ExportRefused(f"{document}: DATEV's Belegfeld 1 takes letters, digits and $&%*+-/ (at most 36, not "
                            f"starting with + or -), got {number!r}", field="Belegfeld 1")  # fmt: skip
    cleaned = re.sub(r"[^A-Za-z0-9$&%*/]", "", number)[:36]
    return cleaned


def _buchungstext(value: str) -> str:
    """Free text for DATEV: one line, no quote-breaking, no formula start, at most 60 characters."""
    value = " ".join(value.split()).replace('"', "'")
    return value.lstrip("=+-@")[:TEXT_MAX]


def _document_rows(f: j.Facts, accounts: j.Accounts) -> list[tuple[int, str, str, str]]:
    """(signed gross for Konto's debit, Konto, Gegenkonto, BU-Schlüssel) of one document."""
    sales = f.kind in (j.INVOICE, j.RECEIPT, j.CREDIT_NOTE)
    party = accounts.receivables if sales else accounts.payables
    contra = f.kind == j.CREDIT_NOTE and bool(accounts.contra_revenue)
    groups: dict[tuple[int, str], int] = defaultdict(int)
    for line in f.lines:
        account = accounts.contra_revenue if contra else (
            accounts.revenue_for(line.lead_type) if sales else accounts.cost_for(line.lead_type))  # fmt: skip
        groups[(line.tax_rate_bp, account)] += line.net_minor
    tax_by_rate = {t.rate_bp: t.tax_minor for t in f.taxes}
    rows: list[tuple[int, str, str, str]] = []
    party_debit = f.kind in (j.INVOICE, j.RECEIPT, j.SELF_CREDIT)
    sign = 1 if party_debit else -1
    for rate_bp in sorted({rate for rate, _ in groups} | set(tax_by_rate)):
        tax = accounts.tax(rate_bp)
        code = tax.sales_code if sales else tax.purchase_code
        keys = sorted(k for k in groups if k[0] == rate_bp)
        left = tax_by_rate.get(rate_bp, 0)
        for i, key in enumerate(keys):
            share = left if i == len(keys) - 1 else tax_minor(groups[key], percent(rate_bp), f.currency)
            left -= share
            rows.append((sign * (groups[key] + share), party, key[1], code))
        if not keys and left:  # tax at a rate no line carries: booked on the tax account itself
            rows.append((sign * left, party, tax.payable if sales else tax.receivable, ""))
    return rows


def _money_row(f: j.Facts, accounts: j.Accounts) -> tuple[int, str, str, str]:
    entry = j.journal_entry(f, accounts)
    debit = next(p.account for p in entry.postings if p.debit_minor)
    credit = next(p.account for p in entry.postings if p.credit_minor)
    return (f.total_minor, debit, credit, "")


def render(period: Period, entries: list[j.Entry], accounts: j.Accounts, columns: dict[str, object],
           *, created: datetime, exported_by: str) -> list[File]:  # fmt: skip
    consultant, client = columns.get("datev_consultant"), columns.get("datev_client")
    if not consultant or not client:
        raise ExportRefused("DATEV needs the Berater and Mandant numbers: set books.datev.consultant and "
                            "books.datev.client in the set-up file, or on the Books page", field="datev")  # fmt: skip
    first_month = int(str(columns.get("fiscal_year_start_month") or 1))
    fy_start = fiscal_year_start(period.first, first_month)
    if fiscal_year_start(period.last, first_month) != fy_start:
        raise ExportRefused(f"a DATEV batch lies in one fiscal year; {period.first}..{period.last} crosses the one "
                            f"starting {fy_start}: export each year on its own", field="range")  # fmt: skip
    currency = period.entity.currency
    header = [_q("EXTF"), str(FORMAT_VERSION), str(CATEGORY), _q(CATEGORY_NAME), str(CATEGORY_VERSION),
              created.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17], "", _q("RE"), _q(_buchungstext(exported_by)[:25]),
              _q(""), str(consultant), str(client), fy_start.strftime("%Y%m%d"), str(columns.get("account_length") or 4),
              period.first.strftime("%Y%m%d"), period.last.strftime("%Y%m%d"),
              _q(_buchungstext(f"Leadbill {period.entity.slug}")[:30]), _q(""), "1", "0", "0", _q(currency), "",
              _q(""), "", "", _q("03" if columns.get("chart") == "skr03" else ""), "", "", _q(""), _q("")]  # fmt: skip
    lines = [";".join(header), ";".join(COLUMNS)]
    for e in entries:
        f = e.facts
        if (
            f.currency != currency
        ):  # DATEV books a foreign amount with its rate and base amount; Leadbill keeps no rates
            raise ExportRefused(f"{f.number}: DATEV books this batch in {currency} and the document is in {f.currency}; "
                                "Leadbill keeps no exchange rate, so book it by hand or export the range as the "
                                "journal CSV", field="currency")  # fmt: skip
        if f.kind in j.DOCUMENT_KINDS:
            rows = _document_rows(f, accounts)
            belegfeld = _belegfeld(f.number, f.number, strict=True)
        else:
            rows = [_money_row(f, accounts)]
            belegfeld = _belegfeld(f.refers_to or f.number, f.number, strict=False)
        for signed, konto, gegenkonto, bu in rows:
            if signed == 0:
                continue
            lines.append(";".join([
                _umsatz(signed, f.currency), _q("S" if signed > 0 else "H"), _q(f.currency), "", "", "",
                _account(konto, f.number), _account(gegenkonto, f.number), _q(bu), f.on.strftime("%d%m"),
                _q(belegfeld), _q(""), "", _q(_buchungstext(f"{f.number} {f.party}")), "", "", "", "", "", "",
            ]))  # fmt: skip
    content = ("\r\n".join(lines) + "\r\n").encode("cp1252", errors="replace")
    name = f"EXTF_Buchungsstapel_{period.entity.slug}_{period.first:%Y%m%d}_{period.last:%Y%m%d}.csv"
    return [File(name, content)]


def parse_amount(text: str) -> Decimal:
    """A DATEV amount (1234,56) as a Decimal: for tests and for reading a file back."""
    return Decimal(text.replace(",", "."))
