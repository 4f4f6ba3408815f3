"""Set-up as data: entities, partners, profiles, lead types, price plans and the books' account mapping
from one YAML file.

`schema` (a package, one module per section of the file) reads and validates it into frozen
dataclasses (no writes); `services` applies a validated document in one transaction.
The format: docs/setup-file.md.
"""
