"""Post-quantum device wraps and age files (issue 23), measured in one run.

* a hybrid (ML-KEM-768 + X25519) wrap and unwrap against an X25519 one, and
  the delivered copy of a 200 KiB statement for each (target: the hybrid
  copy costs at most 2x the X25519 one);
* age export and import of a file, file to file, against the ``age`` binary
  on the same file and key (target: at least 0.8x its throughput).

``python benchmarks/age.py [--quick] [--mib N]`` prints JSON; run.py calls
:func:`measure` and :func:`report` in the full run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from run import best_time  # run.py imports this module only inside its functions

MIB = 1024 * 1024


def _best(fn: Callable[[], object], repeats: int) -> float:
    return best_time(fn, repeats=repeats)


def wraps(quick: bool) -> dict[str, Any]:
    import sealdoc
    from sealdoc.providers import AssociatedData, HybridIdentity, X25519Identity

    count = 50 if quick else 500
    repeats = 3 if quick else 5
    dek, ad = os.urandom(32), AssociatedData(digest=os.urandom(32))
    out: dict[str, Any] = {}
    for name, identity in (
        ("x25519", X25519Identity.generate()),
        ("hybrid", HybridIdentity.generate()),
    ):
        recipient = identity.to_recipient()
        wrapped = recipient.wrap(dek, ad)
        for _ in range(count):  # warm up: the first calls load and cache the backend
            identity.unwrap(recipient.wrap(dek, ad), ad)

        def wraps(r: Any = recipient) -> None:
            for _ in range(count):
                r.wrap(dek, ad)

        def unwraps(i: Any = identity, w: Any = wrapped) -> None:
            for _ in range(count):
                i.unwrap(w, ad)

        out[f"{name}_wrap_us"] = 1e6 * _best(wraps, repeats) / count
        out[f"{name}_unwrap_us"] = 1e6 * _best(unwraps, repeats) / count
        out[f"{name}_payload_bytes"] = len(wrapped.payload)
        ring = sealdoc.MemoryKeyring()
        stored = sealdoc.seal(os.urandom(200 * 1024), keys=ring)

        def delivers(s: bytes = stored, k: Any = ring, r: Any = recipient) -> None:
            sealdoc.deliver(s, keys=k, to=[r])

        out[f"{name}_deliver_200k_ms"] = 1e3 * _best(delivers, repeats * 4)
    out["hybrid_vs_x25519_deliver"] = out["hybrid_deliver_200k_ms"] / out["x25519_deliver_200k_ms"]
    return out


def files(tmp: Path, mib: int, quick: bool) -> dict[str, Any]:
    import sealdoc
    from sealdoc.providers import X25519Identity

    repeats = 2 if quick else 3
    plain = tmp / "plain.bin"
    with plain.open("wb") as fh:
        for _ in range(mib):
            fh.write(os.urandom(MIB))
    identity = X25519Identity.generate()
    key_file = tmp / "key.txt"
    key_file.write_text(identity.to_age_string() + "\n")

    def ours_export() -> None:
        with plain.open("rb") as src, (tmp / "ours.age").open("wb") as dst:
            sealdoc.export_age(src, dst, to=[identity.age_recipient])

    def ours_import() -> None:
        with (tmp / "theirs.age").open("rb") as src, (tmp / "ours.out").open("wb") as dst:
            sealdoc.open_age(src, dst, keys=[identity])

    def age_export() -> None:
        subprocess.run(
            ["age", "-e", "-r", identity.age_recipient, "-o", str(tmp / "theirs.age"), str(plain)],
            check=True,
        )

    def age_import() -> None:
        subprocess.run(
            ["age", "-d", "-i", str(key_file), "-o", str(tmp / "age.out"), str(tmp / "ours.age")],
            check=True,
        )

    out: dict[str, Any] = {"mib": mib}
    out["age_export_mib_s"] = mib / _best(age_export, repeats)
    out["sealdoc_export_mib_s"] = mib / _best(ours_export, repeats)
    out["age_import_mib_s"] = mib / _best(age_import, repeats)
    out["sealdoc_import_mib_s"] = mib / _best(ours_import, repeats)
    out["export_ratio_vs_age"] = out["sealdoc_export_mib_s"] / out["age_export_mib_s"]
    out["import_ratio_vs_age"] = out["sealdoc_import_mib_s"] / out["age_import_mib_s"]
    assert (tmp / "ours.out").read_bytes() == plain.read_bytes()
    return out


def measure(quick: bool, mib: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sealdoc-age-bench-") as name:
        return {
            "wraps": wraps(quick),
            "files": files(Path(name), mib or (8 if quick else 100), quick),
        }


def report(results: dict[str, Any]) -> int:
    """Print the figures and each target's PASS or MISS; the number missed."""
    w, f = results["wraps"], results["files"]
    missed = 0
    print(
        "INFO  device wrap/unwrap: "
        f"X25519 {w['x25519_wrap_us']:.0f}/{w['x25519_unwrap_us']:.0f} us, "
        f"hybrid {w['hybrid_wrap_us']:.0f}/{w['hybrid_unwrap_us']:.0f} us "
        f"({w['x25519_payload_bytes']} vs {w['hybrid_payload_bytes']} bytes)"
    )
    ratio = w["hybrid_vs_x25519_deliver"]
    ok = ratio <= 2.0
    missed += not ok
    print(
        f"{'PASS' if ok else 'MISS'}  hybrid copy of 200 KiB: {ratio:.2f}x the X25519 one "
        f"({w['hybrid_deliver_200k_ms']:.2f} vs {w['x25519_deliver_200k_ms']:.2f} ms; "
        "target <= 2x)"
    )
    for way in ("export", "import"):
        r = f[f"{way}_ratio_vs_age"]
        ok = r >= 0.8
        missed += not ok
        print(
            f"{'PASS' if ok else 'MISS'}  age {way} of {f['mib']} MiB, file to file: {r:.2f}x the "
            f"age binary ({f[f'sealdoc_{way}_mib_s']:.0f} vs {f[f'age_{way}_mib_s']:.0f} MiB/s; "
            "target >= 0.8x)"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mib", type=int, help="the age file size (default 100, quick 8)")
    args = parser.parse_args()
    results = measure(args.quick, args.mib)
    print(json.dumps(results, indent=2))
    return 1 if report(results) else 0


if __name__ == "__main__":
    sys.exit(main())
