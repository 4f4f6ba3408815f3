from django.urls import path

from leadbill.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.invoices, name="invoices"),
    path("invoices/<str:ref>/", views.invoice, name="invoice"),
    path("invoices/<str:ref>/pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<str:ref>/einvoice", views.invoice_einvoice, name="invoice_einvoice"),
    path("report/", views.report, name="report"),
    path("returns/", views.returns, name="returns"),
    path("account/", views.account, name="account"),
]
