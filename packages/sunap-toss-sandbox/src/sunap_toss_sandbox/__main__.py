"""`python -m sunap_toss_sandbox`: the same as `toss-sandbox`."""

import sys

from sunap_toss_sandbox.server import main

sys.exit(main())
