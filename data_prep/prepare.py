"""Prepare SIRI's training and evaluation sets as verl parquet.

    python data_prep/prepare.py NAME --output FILE.parquet [--input PATH]
    python data_prep/prepare.py all --input-dir ../shared/data --output-dir $DATA_DIR

NAME is one of deepscaler, aime24, aime25, amc23, math500, minerva, olympiadbench. `all` writes the local
DeepScaleR subset as deepscaler_subset.parquet; the 40,315-row deepscaler.parquet comes from the hub
(`prepare.py deepscaler --output $DATA_DIR/deepscaler.parquet`). Every output gets a .provenance.json, and no
command replaces a parquet whose provenance records another source (without --overwrite). The recipes read
$DATA_DIR (default $HOME/data/siri). See docs/data.md and `python data_prep/prepare.py --help`. The logic lives
in siri_verl.data; the command line in siri_verl.commands.prepare_data (also `siri-verl prepare-data`).
"""

import sys

from siri_verl.commands.prepare_data import main

if __name__ == "__main__":
    sys.exit(main())
