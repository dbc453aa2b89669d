"""An ETL step on sealed files: pandas writes and reads a sealed CSV through sealdoc::.

Run: python examples/pandas_csv.py (needs pandas). The same code works on
S3 by changing the URL to sealdoc::s3://bucket/path.csv and adding the s3
options next to the sealdoc ones.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

import sealdoc


def main(folder: Path) -> None:
    ring = sealdoc.LocalKeyring.create(
        folder / "keyring.json",
        passphrase=os.environ.get("SEALDOC_PASSPHRASE", "example passphrase"),
    )
    options = {"sealdoc": {"keys": ring, "context": {"dataset": "balances"}}}
    url = f"sealdoc::file://{folder}/balances.csv"

    balances = pd.DataFrame(
        {"customer": ["C-1029", "C-2000", "C-3117"], "balance": [1204.17, -33.50, 0.0]}
    )
    balances.to_csv(url, index=False, storage_options=options)
    on_disk = (folder / "balances.csv").read_bytes()
    assert b"C-1029" not in on_disk
    print(f"wrote {len(on_disk)} sealed bytes; header: {sealdoc.inspect(on_disk).context}")

    back = pd.read_csv(url, storage_options=options)
    pd.testing.assert_frame_equal(back, balances)
    print(back.to_string(index=False))
    overdrawn = back[back.balance < 0]
    print(f"overdrawn customers: {list(overdrawn.customer)}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(dir=os.environ.get("SEALDOC_EXAMPLE_TMP")) as tmp:
        main(Path(tmp))
