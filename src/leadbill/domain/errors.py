"""Errors the domain raises; each carries a stable code for the interfaces to map."""


class DomainError(ValueError):
    """A rule of the domain was broken by its input."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class MoneyError(DomainError):
    code = "money"


class PricingError(DomainError):
    code = "pricing"


class PeriodError(DomainError):
    code = "period"


class StateError(DomainError):
    """The object's current state forbids the operation (pay a void invoice, decide a decided return)."""

    code = "conflict"
