"""Documents: invoice PDFs, e-invoices (Factur-X, UBL/Peppol) and the per-lead invoice report."""
