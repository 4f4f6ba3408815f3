from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('selfbilling', '0003_acceptance_backfill'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='selfbilleddocument',
            index=models.Index(fields=['acceptance', 'acceptance_due_at'], name='self_billed_acceptance_due'),
        ),
        migrations.AddConstraint(
            model_name='selfbilleddocument',
            constraint=models.UniqueConstraint(condition=models.Q(('reversed_at__isnull', True), ('role__in', ('invoice', 'credit'))), fields=('payout', 'role'), name='one_live_self_billed_document_per_payout_role'),
        ),
        migrations.AddConstraint(
            model_name='selfbilleddocument',
            constraint=models.UniqueConstraint(condition=models.Q(('role__in', ('invoice_reversal', 'credit_reversal'))), fields=('corrects',), name='one_reversal_per_self_billed_document'),
        ),
        migrations.AddConstraint(
            model_name='selfbilleddocument',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('acceptance__in', ('pending', 'accepted', 'disputed', 'deemed')), ('role__in', ('invoice', 'credit'))), models.Q(('acceptance', ''), ('role__in', ('invoice_reversal', 'credit_reversal'))), _connector='OR'), name='self_billed_acceptance_by_role'),
        ),
    ]
