"""`python -m leadbill`: the same as the `leadbill` command."""

import sys

from leadbill.cli.main import main

sys.exit(main())
