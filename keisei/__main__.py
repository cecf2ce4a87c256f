"""`python -m keisei ...`, and `torchrun --nproc_per_node=N -m keisei train ...` (one data-parallel rank each)."""

import sys

from keisei.cli import main

if __name__ == "__main__":
    sys.exit(main())
