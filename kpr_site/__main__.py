"""Allow `python -m kpr_site`."""

import sys

from kpr_site.cli import main

sys.exit(main())
