from django.urls import path

from leadbill.portal import payouts, views

app_name = "portal"
urlpatterns = [
    path("", views.invoices, name="invoices"),
    path("invoices/<str:ref>/", views.invoice, name="invoice"),
    path("invoices/<str:ref>/pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<str:ref>/einvoice", views.invoice_einvoice, name="invoice_einvoice"),
    path("report/", views.report, name="report"),
    path("statement/", views.statement, name="statement"),
    path("returns/", views.returns, name="returns"),
    path("rate-card/", views.ratecard, name="ratecard"),
    path("rate-card/pdf", views.ratecard_pdf, name="ratecard_pdf"),
    path("to-date/", views.to_date, name="to_date"),
    path("account/", views.account, name="account"),
    path("account/self-billing/", payouts.self_billing, name="self_billing"),
    path("onboarding/self-billing/", payouts.onboarding, name="onboarding"),
    path("payouts/", payouts.payouts, name="payouts"),
    path("payouts/<int:pk>/", payouts.payout, name="payout"),
    path("payouts/<int:pk>/invoices/<int:upload>", payouts.supplier_invoice, name="supplier_invoice"),
    path("self-billed/<str:number>/acceptance", payouts.self_billed_acceptance, name="self_billed_acceptance"),
    path("self-billed/<str:number>/pdf", payouts.self_billed_pdf, name="self_billed_pdf"),
    path("self-billed/<str:number>/einvoice", payouts.self_billed_einvoice, name="self_billed_einvoice"),
]
