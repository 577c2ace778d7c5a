"""``python -m wasmbind.bench``: the same as ``python -m wasmbind bench``."""

import sys

from wasmbind.bench import main

sys.exit(main())
