"""The `books:` section of an entity: its account mapping for the accounting exports (docs/books.md).

Every key is optional: `chart` (skr03 or us; by default the one of the entity's currency) gives
the defaults, and each key given replaces its default. Accounts are codes of letters and digits
(a first character that is a letter or digit, so no formula can start one); tax codes the same
with spaces, `%`, `(`, `)`, `.`, `/` and `-` inside. Lead types named must exist in the entity,
in the file or the database. The console's Books form is read by the same rules
(`read_books_details`), one key at a time, so it changes only the fields it shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from leadbill.books.charts import CHARTS, chart_for, default_columns
from leadbill.domain.errors import DomainError
from leadbill.domain.money import check_currency
from leadbill.loader.schema.problems import Problem, SetupFileError
from leadbill.loader.schema.values import _choice, _Fields, _integer, _join, _kind, _slug, _tax_rate_bp, _text

_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._%()/-]{0,39}")
account = _text(20, pattern=_ACCOUNT, expected="an account code: letters, digits, '.', '_' and '-', starting with a "
                "letter or digit, at most 20")  # fmt: skip
tax_code = _text(40, pattern=_CODE, expected="a tax code: letters, digits, spaces and ._%()/-, starting with a "
                 "letter or digit, at most 40")  # fmt: skip
ACCOUNT_KEYS = ("receivables", "payables", "cash", "revenue", "cost", "tax_payable", "tax_receivable", "other")
BOOKS_KEYS = ("chart", *ACCOUNT_KEYS, "contra_revenue", "cash_by_currency", "revenue_by_lead_type",
              "cost_by_lead_type", "tax_rates", "datev")  # fmt: skip


def _accounts_by(
    f: _Fields, key: str, read_key: Callable[[Any], str], known: Callable[[str], bool] | None, what: str
) -> dict[str, str]:
    """A mapping of key -> account (`{USD: "1210"}`, `{solar: "8410"}`), each key and account checked."""
    m = f.mapping(key)
    out: dict[str, str] = {}
    for raw_key in list(m.raw):
        path_key = str(raw_key)
        try:
            name = read_key(raw_key)
        except DomainError as exc:
            m.take(path_key)
            m.problem(path_key, exc.message)
            continue
        if known is not None and not known(name):
            m.take(path_key)
            m.problem(path_key, f"no {what} {name!r} in this entity, in the file or the database")
            continue
        value = m.read(path_key, account)
        if value:
            out[name] = value
    m.close()
    return out


def _tax_rates(f: _Fields) -> list[dict[str, Any]]:
    rates: list[dict[str, Any]] = []
    seen: dict[int, str] = {}
    for path, raw in f.items("tax_rates"):
        t = _Fields(f.problems, path, raw)
        if not t.ok:
            continue
        rate_bp = t.read("rate", _tax_rate_bp)
        row = {
            "rate_bp": rate_bp,
            "payable": t.read("payable", account, ""),
            "receivable": t.read("receivable", account, ""),
            "sales_code": t.read("sales_code", tax_code, ""),
            "purchase_code": t.read("purchase_code", tax_code, ""),
        }
        t.close()
        if rate_bp is not None and rate_bp in seen:
            f.problems.append(Problem(_join(path, "rate"), f"the rate is already given at {seen[rate_bp]}"))
        elif rate_bp is not None:
            seen[rate_bp] = path
            rates.append(row)
    return sorted(rates, key=lambda r: r["rate_bp"])


def _datev(f: _Fields, *, only_given: bool = False) -> dict[str, Any]:
    d = f.mapping("datev")
    given = {column for key, column in (("consultant", "datev_consultant"), ("client", "datev_client"),
             ("fiscal_year_start_month", "fiscal_year_start_month"), ("account_length", "account_length"))
             if key in d.raw}  # fmt: skip
    out = {
        "datev_consultant": d.read("consultant", _integer(1001, 9_999_999), None),
        "datev_client": d.read("client", _integer(1, 99_999), None),
        "fiscal_year_start_month": d.read("fiscal_year_start_month", _integer(1, 12), 1),
        "account_length": d.read("account_length", _integer(4, 8), None),
    }
    d.close()
    if only_given:  # the console and the API: a key not sent stays as it is
        return {k: v for k, v in out.items() if k in given}
    return {k: v for k, v in out.items() if v is not None or k in ("datev_consultant", "datev_client")}


def _currency(value: Any) -> str:
    return check_currency(_text(3)(value))


def read_books(
    f: _Fields, *, currency: str | None, has_lead_type: Callable[[str], bool], keys: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """AccountMapping columns from the `books` mapping read by `f`: defaults of the chart, then each key given.

    With `keys` (the console), only those keys are read and returned, with no defaults.
    """
    out: dict[str, Any] = {}
    wanted = keys if keys is not None else BOOKS_KEYS
    if keys is None:
        chart = f.read("chart", _choice(tuple(CHARTS)), chart_for(currency or ""))
        out.update(default_columns(currency or "", chart or None))
    readers: dict[str, Callable[[], Any]] = {
        **{key: (lambda key=key: f.read(key, account)) for key in ACCOUNT_KEYS},
        "contra_revenue": lambda: f.read("contra_revenue", account, ""),
        "cash_by_currency": lambda: _accounts_by(f, "cash_by_currency", _currency, None, "currency"),
        "revenue_by_lead_type": lambda: _accounts_by(f, "revenue_by_lead_type", _slug, has_lead_type, "lead type"),
        "cost_by_lead_type": lambda: _accounts_by(f, "cost_by_lead_type", _slug, has_lead_type, "lead type"),
        "tax_rates": lambda: _tax_rates(f),
    }
    for key in wanted:
        if key == "chart":
            continue
        if key == "datev":
            if keys is not None or f.has("datev"):
                out.update(_datev(f, only_given=keys is not None))
            else:
                f.take("datev")
            continue
        if keys is None and not f.has(key):
            f.take(key)
            continue
        out[key] = readers[key]()
    return out


def read_books_details(
    raw: Mapping[str, Any], *, currency: str, has_lead_type: Callable[[str], bool]
) -> dict[str, Any]:
    """The console's Books form: the keys it sends, read by the set-up file's rules; raises SetupFileError."""
    problems: list[Problem] = []
    if not isinstance(raw, Mapping):
        raise SetupFileError([Problem("books", f"expected a mapping, got {_kind(raw)}")])
    f = _Fields(problems, "books", dict(raw))
    keys = tuple(k for k in BOOKS_KEYS if k in raw and k != "chart")
    out = read_books(f, currency=currency, has_lead_type=has_lead_type, keys=keys)
    f.close()
    if problems:
        raise SetupFileError(problems)
    return out
