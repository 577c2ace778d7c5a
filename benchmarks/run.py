#!/usr/bin/env python3
"""Run wasmbind's benchmark suite (the same as ``python -m wasmbind bench``).

    python benchmarks/run.py [--quick] [--only GROUP[,GROUP]] [--out DIR] [--json]

The suite lives in the package (wasmbind/bench.py) so that it also runs from an
installed wasmbind; see ``python benchmarks/run.py --help``.
"""

import sys

from wasmbind.bench import main

if __name__ == "__main__":
    sys.exit(main())
