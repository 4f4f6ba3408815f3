"""The `leadbill` command: parses arguments, calls services, prints results."""
