"""The self-billing models moved to the `selfbilling` app: they leave this app's state only.

Their tables stay where they are (the new models name them in `db_table`), so nothing in
the database changes and no row moves. `selfbilling.0001_initial` adds them to its state,
`documents.0003` points the archive's foreign key at the new model first.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0004_seller_number_prefix_30"),
        ("selfbilling", "0001_initial"),
        ("documents", "0003_self_billed_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="agreement",
                    name="one_agreement_in_force",
                ),
                migrations.RemoveConstraint(
                    model_name="selfbilleddocument",
                    name="one_self_billed_document_per_payout_role",
                ),
                migrations.RemoveConstraint(
                    model_name="selfbilleddocument",
                    name="self_billed_number_unique",
                ),
                migrations.RemoveConstraint(
                    model_name="selfbilledline",
                    name="self_billed_line_unique",
                ),
                migrations.RemoveField(
                    model_name="supplierinvoice",
                    name="payout",
                ),
                migrations.RemoveField(
                    model_name="agreement",
                    name="entity",
                ),
                migrations.RemoveField(
                    model_name="agreement",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="selfbilleddocument",
                    name="agreement",
                ),
                migrations.RemoveField(
                    model_name="selfbilleddocument",
                    name="corrects",
                ),
                migrations.RemoveField(
                    model_name="selfbilleddocument",
                    name="entity",
                ),
                migrations.RemoveField(
                    model_name="selfbilleddocument",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="selfbilleddocument",
                    name="payout",
                ),
                migrations.RemoveField(
                    model_name="selfbilledline",
                    name="document",
                ),
                migrations.DeleteModel(
                    name="SellerProfile",
                ),
                migrations.DeleteModel(
                    name="SupplierInvoice",
                ),
                migrations.DeleteModel(
                    name="Agreement",
                ),
                migrations.DeleteModel(
                    name="SelfBilledDocument",
                ),
                migrations.DeleteModel(
                    name="SelfBilledLine",
                ),
            ],
        ),
    ]
