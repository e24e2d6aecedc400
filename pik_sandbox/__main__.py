"""`python -m pik_sandbox`: the same as the `pik-sandbox` command."""

import sys

from pik_sandbox.cli import main

sys.exit(main())
