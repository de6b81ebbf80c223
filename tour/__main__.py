"""Run the `tour` command as `python -m tour`."""

import sys

from tour.cli import main

sys.exit(main())
