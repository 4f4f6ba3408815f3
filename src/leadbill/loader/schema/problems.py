"""What is wrong with a set-up file: each problem at the path of its key."""

from __future__ import annotations

from dataclasses import dataclass

from leadbill.domain.errors import DomainError

FORMAT_VERSION = 1
ROLES = ("buyer", "supplier")
BILLING_MODES = ("prepay", "credit")
SIDES = ("sell", "buy")
# What happens to credit on account (Entity.credit_on_account): spent on open invoices at once, or by finance.
CREDIT_ON_ACCOUNT = ("automatic", "manual")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the file, at the path of its key (empty for the whole file)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SetupFileError(DomainError):
    """The file was refused; `problems` lists every problem found, in file order."""

    code = "setup_file"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the set-up file, nothing was loaded")
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {p}" for p in self.problems)])
