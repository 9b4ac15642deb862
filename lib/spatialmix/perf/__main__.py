"""`python -m spatialmix.perf`: measure training speed, reference vs ours (suite.main)."""

import sys

from .suite import main

if __name__ == "__main__":
    sys.exit(main())
