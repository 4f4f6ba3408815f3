"""A console upload reports its progress while its one import transaction is still open (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection, connections

from leadbill.deliveries import services
from tests.factories import make_entity, make_lead_type, make_partner


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_other_connections_during_the_import(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: progress shows when the import ends")
    entity = make_entity(slug="progress", currency="EUR", timezone="UTC")
    make_lead_type(entity, "auto")
    make_partner(entity, code="acme")
    lines = ["external_id,partner,profile,lead_type,lead_id,delivered_at,price,currency"]
    lines += [f"p{i},acme,,auto,L{i},2026-01-05T09:00:00+00:00,,EUR" for i in range(25_000)]
    seen: list[tuple[int, int, str]] = []
    report = services._ProgressWriter.__call__

    def observed(self, rows: int) -> None:  # what the page's poll would read at this moment
        report(self, rows)
        other = connections.create_connection("default")
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT rows_read, bytes_read, state FROM deliveries_deliveryimport WHERE id = %s", [self.pk]
            )
            seen.append(cursor.fetchone())
        other.close()

    monkeypatch.setattr(services._ProgressWriter, "__call__", observed)
    upload = services.delivery_import_queue(actor="t", entity=entity, content="\n".join(lines).encode(),
                                            file_name="big.csv")  # fmt: skip
    upload.refresh_from_db()
    assert upload.state == "done" and upload.result["created"] == 25_000
    assert [rows for rows, _, _ in seen][:2] == [10_000, 20_000]
    assert all(state == "running" for _, _, state in seen) and seen[0][1] < seen[1][1] <= upload.size_bytes
