"`python -m scb_nb`: the same program as the `scb-nb` console script (`scb_nb.cli.main`)."
# Written by hand, not exported: nbdev 3 cannot export a second new module from one notebook (see nbs/82_cli.ipynb).
import sys
from scb_nb.cli import main

if __name__ == '__main__': sys.exit(main())
