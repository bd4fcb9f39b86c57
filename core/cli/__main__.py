"""`python -m core.cli` is `mesdash`."""

import sys

from core.cli import main

sys.exit(main())
