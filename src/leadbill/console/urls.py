from django.urls import path

from leadbill.console.views import admin, dashboard, deliveries, invoices, partners, returns, runs

app_name = "console"
P = "<slug:entity>/"
urlpatterns = [
    path(P, dashboard.dashboard, name="dashboard"),
    path(P + "dashboard/billable/", dashboard.billable, name="dashboard_billable"),
    path(P + "partners/", partners.partner_list, name="partners"),
    path(P + "partners/new/", partners.partner_new, name="partner_new"),
    path(P + "partners/<slug:code>/", partners.partner_detail, name="partner"),
    path(P + "partners/<slug:code>/edit/", partners.partner_edit, name="partner_edit"),
    path(P + "partners/<slug:code>/report/", partners.partner_report, name="partner_report"),
    path(P + "partners/<slug:code>/plans/new/", partners.plan_new, name="plan_new"),
    path(P + "partners/<slug:code>/plans/quote/", partners.plan_quote, name="plan_quote"),
    path(P + "partners/<slug:code>/adjustments/", partners.adjustment_new, name="adjustment_new"),
    path(P + "partners/<slug:code>/topups/", partners.topup_new, name="topup_new"),
    path(P + "partners/<slug:code>/credit-notes/", partners.credit_note_new, name="credit_note_new"),
    path(P + "partners/<slug:code>/users/", partners.partner_user_new, name="partner_user_new"),
    path(P + "deliveries/", deliveries.deliveries, name="deliveries"),
    path(P + "deliveries/export.csv", deliveries.deliveries_export, name="deliveries_export"),
    path(P + "returns/", returns.returns, name="returns"),
    path(P + "returns/decide/", returns.returns_decide, name="returns_decide"),
    path(P + "runs/", runs.runs, name="runs"),
    path(P + "runs/preview/", runs.run_preview, name="run_preview"),
    path(P + "runs/issue/", runs.run_issue, name="run_issue"),
    path(P + "runs/<int:pk>/", runs.run_detail, name="run"),
    path(P + "invoices/", invoices.invoice_list, name="invoices"),
    path(P + "invoices/<str:ref>/", invoices.invoice_detail, name="invoice"),
    path(P + "invoices/<str:ref>/pdf", invoices.invoice_pdf, name="invoice_pdf"),
    path(P + "invoices/<str:ref>/einvoice", invoices.invoice_einvoice, name="invoice_einvoice"),
    path(P + "invoices/<str:ref>/payments/", invoices.invoice_pay, name="invoice_pay"),
    path(P + "invoices/<str:ref>/void/", invoices.invoice_void, name="invoice_void"),
    path(P + "invoices/<str:ref>/send/", invoices.invoice_send_view, name="invoice_send"),
    path(P + "invoices/<str:ref>/issue/", invoices.invoice_issue_draft, name="invoice_issue"),
    path(P + "invoices/<str:ref>/discard/", invoices.invoice_discard, name="invoice_discard"),
    path(P + "audit/", admin.audit, name="audit"),
    path(P + "users/", admin.users, name="users"),
    path(P + "users/staff/", admin.staff_new, name="staff_new"),
    path(P + "users/staff/<int:pk>/role/", admin.staff_role, name="staff_role"),
    path(P + "users/staff/<int:pk>/remove/", admin.staff_delete, name="staff_remove"),
    path(P + "settings/documents/", admin.entity_documents, name="entity_documents"),
]
