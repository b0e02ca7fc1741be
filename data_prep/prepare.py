"""Prepare SIRI's training and evaluation sets as verl parquet.

    python data_prep/prepare.py NAME --output FILE.parquet [--input PATH]
    python data_prep/prepare.py all --input-dir ../shared/data --output-dir data/

NAME is one of deepscaler, aime24, aime25, amc23, math500, minerva, olympiadbench. See docs/data.md and
`python data_prep/prepare.py --help`. The logic lives in siri_verl.data.
"""

import sys

from siri_verl.data.cli import main

if __name__ == "__main__":
    sys.exit(main())
