import sys

from sunap.cli import main

sys.exit(main())
