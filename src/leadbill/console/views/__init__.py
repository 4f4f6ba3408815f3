"""Console pages, one module per capability; each view is thin and calls services and selectors."""
