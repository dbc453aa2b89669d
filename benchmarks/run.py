"""sealdoc against its peers, measured in the same run; prints ratios.

Run through nox (it installs the peers): ``python3 -m nox -s bench``
(``-- --quick`` for smaller sizes). Results are also written to
benchmarks/out/results.json. Targets come from the issues; docs/performance.md
records the figures.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
MIB = 1024 * 1024


def rate(fn: Callable[[], object], *, count: int, repeats: int = 5) -> float:
    """Best operations per second over ``repeats`` runs of ``count`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        best = min(best, time.perf_counter() - start)
    return count / best


def best_time(fn: Callable[[], object], *, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# -- 1 KiB documents: seal + open per second ------------------------------------


def small_documents(tmp: Path, quick: bool) -> dict[str, Any]:
    import aws_encryption_sdk
    import tink
    from aws_cryptographic_material_providers.mpl import AwsCryptographicMaterialProviders
    from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig
    from aws_cryptographic_material_providers.mpl.models import (
        AesWrappingAlg,
        CreateRawAesKeyringInput,
    )
    from tink import aead

    import sealdoc

    doc = os.urandom(1024)
    context = {"tenant": "acme", "doc_type": "statement"}
    n = 300 if quick else 3000

    ring = sealdoc.LocalKeyring.create(tmp / "ring.json", passphrase="benchmark passphrase")

    def sealdoc_op() -> None:
        sealdoc.open(sealdoc.seal(doc, keys=ring, context=context), keys=ring)

    aead.register()
    kek = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
    envelope = aead.KmsEnvelopeAead(aead.aead_key_templates.AES256_GCM, kek)
    associated = json.dumps(context, sort_keys=True).encode()

    def tink_op() -> None:
        envelope.decrypt(envelope.encrypt(doc, associated), associated)

    client = aws_encryption_sdk.EncryptionSDKClient()  # default: committing, signing suite
    mpl = AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())
    esdk_ring = mpl.create_raw_aes_keyring(
        input=CreateRawAesKeyringInput(
            key_namespace="bench",
            key_name="kek",
            wrapping_key=os.urandom(32),
            wrapping_alg=AesWrappingAlg.ALG_AES256_GCM_IV12_TAG16,
        )
    )

    def esdk_op() -> None:
        ct, _ = client.encrypt(source=doc, keyring=esdk_ring, encryption_context=context)
        client.decrypt(source=ct, keyring=esdk_ring)

    results = {
        "sealdoc_ops_per_s": rate(sealdoc_op, count=n),
        "tink_envelope_ops_per_s": rate(tink_op, count=n),
        "esdk_raw_aes_ops_per_s": rate(esdk_op, count=max(20, n // 30), repeats=3),
    }
    results["ratio_vs_tink"] = results["sealdoc_ops_per_s"] / results["tink_envelope_ops_per_s"]
    results["ratio_vs_esdk"] = results["sealdoc_ops_per_s"] / results["esdk_raw_aes_ops_per_s"]
    return results


# -- 10 MiB in memory -------------------------------------------------------------


def in_memory(quick: bool) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    import sealdoc

    data = os.urandom(10 * MIB)
    ring = sealdoc.MemoryKeyring()
    aes = AESGCM(AESGCM.generate_key(256))
    nonce = os.urandom(12)
    repeats = 10 if quick else 40
    sealed = sealdoc.seal(data, keys=ring)
    raw = aes.encrypt(nonce, data, None)
    t_seal = best_time(lambda: sealdoc.seal(data, keys=ring), repeats=repeats)
    t_aes_enc = best_time(lambda: aes.encrypt(nonce, data, None), repeats=repeats)
    t_open = best_time(lambda: sealdoc.open(sealed, keys=ring), repeats=repeats)
    t_aes_dec = best_time(lambda: aes.decrypt(nonce, raw, None), repeats=repeats)
    return {
        "sealdoc_seal_mib_per_s": 10 / t_seal,
        "aesgcm_encrypt_mib_per_s": 10 / t_aes_enc,
        "sealdoc_open_mib_per_s": 10 / t_open,
        "aesgcm_decrypt_mib_per_s": 10 / t_aes_dec,
        "seal_ratio_vs_aesgcm": t_aes_enc / t_seal,
        "open_ratio_vs_aesgcm": t_aes_dec / t_open,
    }


# -- 1 GiB file to file, streaming (each run in a child process, for its peak RSS) --------


CHILD = r"""
import os, shutil, sys, time
tool, op, src, dst, keyset = sys.argv[1:6]
if tool == "sealdoc":
    import sealdoc
    ring = sealdoc.MemoryKeyring._from_secret(bytes(32))
    start = time.perf_counter()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        if op == "seal":
            sealdoc.seal_stream(fin, fout, keys=ring)
        else:
            shutil.copyfileobj(sealdoc.open_stream(fin, keys=ring), fout, 1024 * 1024)
elif tool == "tink":
    import tink
    from tink import secret_key_access, streaming_aead
    streaming_aead.register()
    if op == "seal":
        handle = tink.new_keyset_handle(
            streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
        with open(keyset, "w") as k:
            k.write(tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
    else:
        with open(keyset) as k:
            handle = tink.json_proto_keyset_format.parse(k.read(), secret_key_access.TOKEN)
    primitive = handle.primitive(streaming_aead.StreamingAead)
    start = time.perf_counter()
    if op == "seal":
        with open(src, "rb") as fin:
            # closing Tink's encrypting stream closes the destination too
            with primitive.new_encrypting_stream(open(dst, "wb"), b"") as enc:
                shutil.copyfileobj(fin, enc, 1024 * 1024)
    else:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            with primitive.new_decrypting_stream(fin, b"") as dec:
                shutil.copyfileobj(dec, fout, 1024 * 1024)
else:
    start = time.perf_counter()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
elapsed = time.perf_counter() - start
# VmHWM is this process's own peak; ru_maxrss would count the parent's
# pages inherited across fork.
with open("/proc/self/status") as status:
    hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(elapsed, hwm_kib)
"""


def _child(tool: str, op: str, src: Path, dst: Path, keyset: Path) -> tuple[float, float]:
    """Run one streaming job in a fresh process: (seconds, its own peak RSS in MiB)."""
    if dst.is_file():
        dst.unlink()
    os.sync()  # no writeback of an earlier run's output competes with this one
    out = subprocess.run(
        [sys.executable, "-c", CHILD, tool, op, str(src), str(dst), str(keyset)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def streaming(tmp: Path, quick: bool) -> dict[str, Any]:
    """File to file (what the issue names) and file to /dev/null (the tools' own cost)."""
    size = (64 if quick else 1024) * MIB
    plain = tmp / "plain.bin"
    with open(plain, "wb") as fh:
        for _ in range(size // MIB):
            fh.write(os.urandom(MIB))
    null = Path(os.devnull)
    best: dict[str, float] = {}
    peak: dict[str, float] = {}

    def record(key: str, seconds: float, rss: float) -> None:
        best[key] = min(best.get(key, seconds), seconds)
        peak[key] = max(peak.get(key, rss), rss)

    for round_ in range(1 if quick else 5):
        # alternate the order so that neither tool always runs on a warmer machine
        order = ("sealdoc", "tink", "copy") if round_ % 2 == 0 else ("copy", "tink", "sealdoc")
        for tool in order:
            keyset = tmp / f"{tool}.keyset"
            if tool == "copy":
                record("copy", *_child("copy", "copy", plain, tmp / "copy.bin", keyset))
                continue
            sealed, back = tmp / f"{tool}.sealed", tmp / f"{tool}.back"
            record(f"{tool}_seal", *_child(tool, "seal", plain, sealed, keyset))
            record(f"{tool}_open", *_child(tool, "open", sealed, back, keyset))
            if os.path.getsize(back) != size:
                raise SystemExit(f"{tool} did not round-trip")
            record(f"{tool}_open_to_devnull", *_child(tool, "open", sealed, null, keyset))
            record(f"{tool}_seal_to_devnull", *_child(tool, "seal", plain, null, keyset))
    results: dict[str, Any] = {"size_mib": size // MIB}
    for key, seconds in best.items():
        results[f"{key}_mib_per_s"] = size / MIB / seconds
        results[f"{key}_peak_rss_mib"] = peak[key]
    for op in ("seal", "open", "seal_to_devnull", "open_to_devnull"):
        results[f"{op}_ratio_vs_tink"] = (
            results[f"sealdoc_{op}_mib_per_s"] / results[f"tink_{op}_mib_per_s"]
        )
    results["copy_ratio_vs_tink_seal"] = results["copy_mib_per_s"] / results["tink_seal_mib_per_s"]
    return results


# -- key lifecycle: rewrap_stream vs copying, rewrap vs rotate --------------------------------


def lifecycle(tmp: Path, quick: bool) -> dict[str, Any]:
    import sealdoc

    ring = sealdoc.MemoryKeyring()
    doc = sealdoc.seal(os.urandom(100 * 1024), keys=ring)
    n = 300 if quick else 3000
    results: dict[str, Any] = {
        "rewrap_100k_per_s": rate(lambda: sealdoc.rewrap(doc, keys=ring, to=ring), count=n),
        "rotate_100k_per_s": rate(lambda: sealdoc.rotate(doc, keys=ring), count=n // 3),
    }
    results["rewrap_ratio_vs_rotate"] = results["rewrap_100k_per_s"] / results["rotate_100k_per_s"]
    for mib in (1, 10):  # the ratio grows with size: rewrap's cost hardly does
        big_doc = sealdoc.seal(os.urandom(mib * MIB), keys=ring)
        count = max(10, n // (30 * mib))
        rewrap_rate = rate(partial(sealdoc.rewrap, big_doc, keys=ring, to=ring), count=count)
        rotate_rate = rate(partial(sealdoc.rotate, big_doc, keys=ring), count=count)
        results[f"rewrap_ratio_vs_rotate_{mib}mib"] = rewrap_rate / rotate_rate
    size = (64 if quick else 1024) * MIB
    sealed = tmp / "lifecycle.sealed"
    big = tmp / "lifecycle.plain"
    with open(big, "wb") as fh:
        for _ in range(size // MIB):
            fh.write(os.urandom(MIB))
    with open(big, "rb") as fin, open(sealed, "wb") as fout:
        sealdoc.seal_stream(fin, fout, keys=ring)
    out = tmp / "lifecycle.out"
    copy_best = rewrap_best = float("inf")
    for _ in range(1 if quick else 5):
        for which in ("copy", "rewrap"):
            if out.exists():
                out.unlink()
            os.sync()
            start = time.perf_counter()
            with open(sealed, "rb") as fin, open(out, "wb") as fout:
                if which == "copy":
                    shutil.copyfileobj(fin, fout, MIB)
                else:
                    sealdoc.rewrap_stream(fin, fout, keys=ring, to=ring)
            elapsed = time.perf_counter() - start
            if which == "copy":
                copy_best = min(copy_best, elapsed)
            else:
                rewrap_best = min(rewrap_best, elapsed)
    results["rewrap_stream_size_mib"] = size // MIB
    results["rewrap_stream_s"] = rewrap_best
    results["copyfileobj_s"] = copy_best
    results["rewrap_stream_time_vs_copy"] = rewrap_best / copy_best
    for path in (sealed, big, out):
        path.unlink()
    return results


# -- storage: the Vault against plain fsspec, and ranged reads ---------------------------------


def _put_get_rates(
    write: Callable[[str, bytes], object], read: Callable[[str], object], body: bytes, count: int
) -> tuple[float, float]:
    """Documents per second for puts (new names every round) and gets, best of two rounds."""
    best_put = best_get = float("inf")
    for round_ in range(2):
        os.sync()  # earlier phases' writeback must not land on this round
        start = time.perf_counter()
        for i in range(count):
            write(f"r{round_}/d{i}", body)
        best_put = min(best_put, time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(count):
            read(f"r{round_}/d{i}")
        best_get = min(best_get, time.perf_counter() - start)
    return count / best_put, count / best_get


def storage(tmp: Path, quick: bool) -> dict[str, Any]:
    """The Vault against plain fsspec pipe/cat of the same bytes, on a local folder."""
    import fsspec

    import sealdoc

    ring = sealdoc.MemoryKeyring()
    body = os.urandom(100 * 1024)
    count = 1000 if quick else 10_000
    plain = fsspec.filesystem("file")
    root = f"{tmp}/plain"
    plain.makedirs(f"{root}/r0", exist_ok=True)
    plain.makedirs(f"{root}/r1", exist_ok=True)
    put, get = _put_get_rates(
        lambda name, data: plain.pipe_file(f"{root}/{name}", data),
        lambda name: plain.cat_file(f"{root}/{name}"),
        body,
        count,
    )
    results: dict[str, Any] = {"documents": count, "plain_pipe_per_s": put, "plain_cat_per_s": get}
    for durable in (False, True):
        vault = sealdoc.Vault(f"file://{tmp}/vault-{durable}", keys=ring, durable=durable)
        put, get = _put_get_rates(vault.put, vault.get, body, count)
        tag = "durable" if durable else "no_fsync"
        results[f"put_{tag}_per_s"] = put
        results[f"get_{tag}_per_s"] = get
        results[f"put_{tag}_ratio"] = put / results["plain_pipe_per_s"]
        results[f"get_{tag}_ratio"] = get / results["plain_cat_per_s"]
    results.update(ranged_read(tmp, quick))
    return results


def ranged_read(tmp: Path, quick: bool) -> dict[str, Any]:
    """1 MiB from the middle of a large sealed object: bytes fetched and time."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    import sealdoc

    ring = sealdoc.MemoryKeyring()

    # ranged read: bytes fetched through a file system that counts them
    class CountingFile:
        def __init__(self, f: Any, counter: list[int]) -> None:
            self._f, self._counter = f, counter

        def read(self, n: int = -1) -> bytes:
            data: bytes = self._f.read(n)
            self._counter[0] += len(data)
            return data

        def readinto(self, b: Any) -> int:
            n: int = self._f.readinto(b)
            self._counter[0] += n
            return n

        def __getattr__(self, name: str) -> Any:
            return getattr(self._f, name)

        def __enter__(self) -> CountingFile:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

    fetched = [0]

    class CountingFS(LocalFileSystem):  # type: ignore[misc]
        protocol = "countingfile"

        @classmethod
        def _strip_protocol(cls, path: Any) -> Any:
            text = str(path)
            if text.startswith("countingfile://"):
                text = text[len("countingfile://") :]
            return LocalFileSystem._strip_protocol(text)

        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            return CountingFile(super()._open(path, mode, **kwargs), fetched)

    fsspec.register_implementation("countingfile", CountingFS, clobber=True)
    size = (64 if quick else 1024) * MIB
    big = tmp / "big.plain"
    with open(big, "wb") as fh:
        for _ in range(size // MIB):
            fh.write(os.urandom(MIB))
    writer = sealdoc.Vault(f"file://{tmp}/ranged", keys=ring)
    with open(big, "rb") as source:
        writer.put("big", source)
    counted = sealdoc.Vault(f"countingfile://{tmp}/ranged", keys=ring)
    offset = size // 2 + 12_345  # not on a segment boundary: the worst case

    def ranged() -> None:
        fetched[0] = 0
        with counted.open("big") as reader:
            reader.seek(offset)
            reader.read(MIB)

    t_ranged = best_time(ranged, repeats=5)
    ranged_bytes = fetched[0]
    t_whole = best_time(lambda: counted.get("big"), repeats=2)
    with open(tmp / "ranged" / "big.sdoc", "rb") as sealed_file:
        stored = sealdoc.inspect(sealed_file)
    header, segment = stored.header_length, stored.segment_size
    return {
        "ranged_object_mib": size // MIB,
        "ranged_bytes_fetched": ranged_bytes,
        "ranged_allowed_bytes": MIB + 2 * (segment + 16) + header,
        "ranged_s": t_ranged,
        "whole_get_s": t_whole,
        "ranged_time_fraction": t_ranged / t_whole,
    }


# -- key providers: an HSM from many threads, KMS calls with and without the cache -------------


def hsm(tmp: Path, quick: bool) -> dict[str, Any]:
    """Seal 1 KiB documents through a SoftHSM2 token from 1 and from 8 threads."""
    from concurrent.futures import ThreadPoolExecutor

    conf = tmp / "softhsm2.conf"
    (tmp / "tokens").mkdir()
    conf.write_text(f"directories.tokendir = {tmp}/tokens\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before the module is first loaded
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "bench",
            "--so-pin",
            "12345678",
            "--pin",
            "1234",
        ],
        check=True,
        capture_output=True,
    )
    import pkcs11
    from pkcs11.mechanisms import GCMParams

    import sealdoc
    from sealdoc.providers import Pkcs11

    module = "/usr/lib/softhsm/libsofthsm2.so"
    Pkcs11.create_key(module_path=module, token_label="bench", key_label="kek", pin="1234")
    provider = Pkcs11(
        module_path=module, token_label="bench", key_label="kek", pin="1234", pool_size=8
    )
    doc = os.urandom(1024)
    n = 400 if quick else 4000

    def seal_many(count: int) -> None:
        for _ in range(count):
            sealdoc.seal(doc, keys=provider)

    one = best_time(lambda: seal_many(n), repeats=2)
    with ThreadPoolExecutor(8) as pool:
        eight = best_time(lambda: list(pool.map(seal_many, [n // 8] * 8)), repeats=2)
    lib = pkcs11.lib(module)
    with lib.get_token(token_label="bench").open(rw=True) as session:
        kek: Any = session.get_key(label="kek.v1", key_type=pkcs11.KeyType.AES)

        def bare() -> None:
            for _ in range(n):
                kek.encrypt(
                    os.urandom(32),
                    mechanism=pkcs11.Mechanism.AES_GCM,
                    mechanism_param=GCMParams(os.urandom(12), b"x" * 64, 128),
                )

        bare_time = best_time(bare, repeats=2)
    return {
        "seal_1_thread_per_s": n / one,
        "seal_8_threads_per_s": n / eight,
        "threads_ratio": one / eight,
        "bare_gcm_wrap_per_s": n / bare_time,
    }


@contextmanager
def _moto() -> Iterator[str]:
    """moto's server on 127.0.0.1 with fake credentials; yields its endpoint."""
    from moto.server import ThreadedMotoServer

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def kms_cache(quick: bool) -> dict[str, Any]:
    """Seal 1,000 documents and open each twice through moto's KMS, cache off and on."""
    import boto3

    import sealdoc
    from sealdoc.providers import AwsKms, DekCache

    with _moto() as endpoint:
        arn = boto3.client("kms", endpoint_url=endpoint).create_key()["KeyMetadata"]["Arn"]
        n = 100 if quick else 1000
        results: dict[str, Any] = {"documents": n}
        for label, cache in (("off", None), ("on", DekCache())):
            kms = AwsKms(arn, endpoint_url=endpoint, cache=cache)
            start = time.perf_counter()
            docs = [sealdoc.seal(b"statement %d" % i, keys=kms) for i in range(n)]
            for _ in range(2):
                for doc in docs:
                    sealdoc.open(doc, keys=kms)
            results[f"cache_{label}_kms_calls"] = kms.calls
            results[f"cache_{label}_s"] = time.perf_counter() - start
        return results


# -- bulk rotation: benchmarks/bulk.py; Dask against the local engine here ----------------


def fixed(tmp: Path, quick: bool) -> dict[str, Any]:
    """Issue 24's fixed costs (benchmarks/fixed_cost.py): CLI start-up, vault put --from."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fixed_cost  # benchmarks/fixed_cost.py

    figures: dict[str, Any] = fixed_cost.fixed_cost(tmp, quick)
    return figures


def bulk(tmp: Path, quick: bool) -> dict[str, Any]:
    """The bulk engine's targets (benchmarks/bulk.py), then Dask against the local engine."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bulk as bulk_bench  # benchmarks/bulk.py

    results: dict[str, Any] = bulk_bench.run(tmp, quick)
    results["dask"] = _bulk_dask(tmp, quick)
    if importlib.util.find_spec("store_transfer") is not None:  # the store backends' own bench
        transfer = importlib.import_module("store_transfer")
        results["store_transfer"] = transfer.measure(24, 2 if quick else 3)
    if importlib.util.find_spec("obstore") is not None:  # sealdoc.aio on S3 (issue 21)
        aio_reads = importlib.import_module("aio_reads")
        results["aio_reads"] = aio_reads.measure(50 if quick else 500, 100 if quick else 1000)
        # bulk rewrap CPU per document through obstore, S3 and Azurite (issue 21)
        obj_bulk = importlib.import_module("obj_bulk")
        results["obj_bulk"] = obj_bulk.measure(200 if quick else 1000, 2 if quick else 3)
    return results


def keystore(tmp: Path, quick: bool) -> dict[str, Any]:
    """Customer keys at scale (benchmarks/keystore.py); prints its own PASS/MISS lines."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import keystore as keystore_bench  # benchmarks/keystore.py

    work = tmp / "keystore"
    work.mkdir()
    figures: dict[str, Any] = keystore_bench.run(work, quick)
    keystore_bench.report(figures)
    return figures


def _bulk_dask(tmp: Path, quick: bool) -> dict[str, Any]:
    """The same job on a two-process Dask cluster, against the local engine."""
    from distributed import Client, LocalCluster

    import sealdoc

    os.environ["SEALDOC_PASSPHRASE"] = "bulk benchmark passphrase"
    keyring = tmp / "ring.json"
    sealdoc.LocalKeyring.create(
        keyring, passphrase=os.environ["SEALDOC_PASSPHRASE"], opslimit=1, memlimit=8 << 20
    )
    results: dict[str, Any] = {}
    body = os.urandom(16384)
    dask_count = 500 if quick else 2000
    dask_vault = sealdoc.Vault(f"file://{tmp}/dask-store", keys=f"local://{keyring}", durable=False)
    for i in range(dask_count):
        dask_vault.put(f"d/{i:05}", body)
    start = time.perf_counter()
    dask_vault.rotate_all(workers=8)
    results["local_engine_per_s"] = dask_count / (time.perf_counter() - start)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with Client(cluster) as client:
        start = time.perf_counter()
        dask_vault.rotate_all(client=client, batch_size=200)
        results["dask_2_workers_per_s"] = dask_count / (time.perf_counter() - start)
    cluster.close()
    results["dask_vs_local"] = results["dask_2_workers_per_s"] / results["local_engine_per_s"]
    return results


TARGETS = [
    # issue 24's table: LocalKeyring against Tink's envelope (0.5x) and the ESDK (100x)
    ("1 KiB seal+open vs Tink KmsEnvelopeAead", "small", "ratio_vs_tink", 0.5),
    ("1 KiB seal+open vs AWS ESDK RawAESKeyring", "small", "ratio_vs_esdk", 100.0),
    ("10 MiB seal vs one-shot AESGCM", "memory", "seal_ratio_vs_aesgcm", 0.8),
    ("10 MiB open vs one-shot AESGCM", "memory", "open_ratio_vs_aesgcm", 0.8),
    ("streaming seal vs Tink StreamingAead", "streaming", "seal_ratio_vs_tink", 2.0),
    ("streaming open vs Tink StreamingAead", "streaming", "open_ratio_vs_tink", 2.0),
    ("streaming seal to /dev/null vs Tink", "streaming", "seal_to_devnull_ratio_vs_tink", 2.0),
    ("streaming open to /dev/null vs Tink", "streaming", "open_to_devnull_ratio_vs_tink", 2.0),
]


# -- delivery: a 200 KiB statement for a password, beside pyrage (age) ------------------


def delivery(quick: bool) -> dict[str, Any]:
    """deliver() of a 200 KiB statement with a password, KDF included; pyrage alongside."""
    from concurrent.futures import ThreadPoolExecutor

    import pyrage
    from nacl.pwhash import argon2id

    import sealdoc
    from sealdoc.providers import Password, X25519Identity

    body = os.urandom(200 * 1024)
    ring = sealdoc.MemoryKeyring()
    stored = sealdoc.seal(body, keys=ring, context={"tenant": "acme"})
    password = "plum-orbit-kettle-91"
    repeats = 3 if quick else 7
    count = 8 if quick else 40

    def deliver_default() -> bytes:
        return sealdoc.deliver(stored, keys=ring, to=Password(password))

    def deliver_age_memory() -> bytes:
        # Argon2id at 512 MiB, one pass: the memory age's scrypt (N=2^19, r=8) uses.
        return sealdoc.deliver(
            stored, keys=ring, to=Password(password, memory_kib=512 * 1024, iterations=1)
        )

    def kdf_only() -> bytes:
        return bytes(
            argon2id.kdf(32, password.encode(), os.urandom(16), opslimit=3, memlimit=64 * MIB)
        )

    def age() -> bytes:
        return bytes(pyrage.passphrase.encrypt(body, password))

    device = X25519Identity.generate().to_recipient()
    results: dict[str, Any] = {"document_kib": 200}
    results["deliver_s"] = best_time(deliver_default, repeats=repeats)
    results["kdf_s"] = best_time(kdf_only, repeats=repeats)
    results["deliver_age_memory_s"] = best_time(deliver_age_memory, repeats=max(2, repeats // 2))
    results["pyrage_s"] = best_time(age, repeats=max(2, repeats // 2))
    results["deliver_ratio_vs_pyrage"] = results["pyrage_s"] / results["deliver_s"]
    results["deliver_age_memory_ratio_vs_pyrage"] = (
        results["pyrage_s"] / results["deliver_age_memory_s"]
    )
    results["deliver_rewrap_s"] = best_time(
        lambda: sealdoc.deliver(stored, keys=ring, to=Password(password), fresh_key=False),
        repeats=repeats,
    )
    results["deliver_device_s"] = best_time(
        lambda: sealdoc.deliver(stored, keys=ring, to=device), repeats=repeats
    )
    # The same open and seal with no KDF (a device wrap) is the rest of the work.
    results["kdf_share"] = 1 - results["deliver_device_s"] / results["deliver_s"]
    results["export_html_s"] = best_time(
        lambda: sealdoc.export_html(body, password=password, filename="statement.bin"),
        repeats=repeats,
    )
    # Deliveries per second on every core: PyNaCl and OpenSSL release the GIL.
    workers = os.cpu_count() or 1

    def many(fn: Callable[[], object], n: int) -> float:
        with ThreadPoolExecutor(workers) as pool:
            start = time.perf_counter()
            list(pool.map(lambda _: fn(), range(n)))
            return n / (time.perf_counter() - start)

    results["workers"] = workers
    results["deliveries_per_s"] = many(deliver_default, count)
    results["pyrage_per_s"] = many(age, max(4, count // 8))
    return results


def serving(quick: bool) -> dict[str, Any]:
    """DocumentApp under load (30 s) and against FileResponse: benchmarks/serve.py."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import serve as serve_bench  # benchmarks/serve.py

    return {
        "load": serve_bench.load(5 if quick else 30),
        "versus_file_response": serve_bench.versus(quick),
    }


def _report_stores(results: dict[str, Any]) -> int:
    """Storage, HSM and KMS figures; the number of targets missed."""
    failed = 0
    st = results["storage"]
    for op in ("put", "get"):
        for tag, label in (("no_fsync", "no fsync, as plain fsspec"), ("durable", "fsynced")):
            value = st[f"{op}_{tag}_ratio"]
            ok = value >= 0.7
            failed += not ok and tag == "no_fsync"
            mark = "PASS" if ok else ("MISS" if tag == "no_fsync" else "NOTE")
            print(
                f"{mark}  Vault {op} of {st['documents']} x 100 KiB ({label}): "
                f"{value:.2f}x plain fsspec (target 0.7x)"
            )
    ok = st["ranged_bytes_fetched"] <= st["ranged_allowed_bytes"]
    failed += not ok
    print(
        f"{'PASS' if ok else 'MISS'}  1 MiB from the middle of {st['ranged_object_mib']} MiB: "
        f"{st['ranged_bytes_fetched']} bytes fetched (allowed {st['ranged_allowed_bytes']})"
    )
    ok = st["ranged_time_fraction"] < 0.05
    failed += not ok
    print(
        f"{'PASS' if ok else 'MISS'}  ... in {100 * st['ranged_time_fraction']:.2f}% of the time "
        "of reading the whole object (target < 5%)"
    )
    h = results["hsm"]
    ok = h["threads_ratio"] >= 1.5
    failed += not ok
    print(
        f"{'PASS' if ok else 'MISS'}  PKCS#11 seal from 8 threads: {h['threads_ratio']:.2f}x one "
        f"thread (target 1.5x); {h['seal_1_thread_per_s']:.0f}/s vs bare python-pkcs11 "
        f"GCM wrap {h['bare_gcm_wrap_per_s']:.0f}/s"
    )
    k = results["kms"]
    print(
        f"INFO  KMS, {k['documents']} documents sealed and opened twice: "
        f"{k['cache_off_kms_calls']} KMS calls without the cache, {k['cache_on_kms_calls']} with it"
    )
    return failed


def _report(results: dict[str, Any]) -> None:
    """Print the figures and each target's PASS or MISS."""
    print(json.dumps(results, indent=2))
    print()
    failed = 0
    for label, group, key, target in TARGETS:
        value = results[group][key]
        ok = value >= target
        failed += not ok
        print(f"{'PASS' if ok else 'MISS'}  {label}: {value:.2f}x (target {target}x)")
    lc = results["lifecycle"]
    ok = lc["rewrap_stream_time_vs_copy"] <= 1.2
    failed += not ok
    print(
        f"{'PASS' if ok else 'MISS'}  rewrap_stream of {lc['rewrap_stream_size_mib']} MiB: "
        f"{lc['rewrap_stream_time_vs_copy']:.2f}x the time of copyfileobj (target <= 1.2x)"
    )
    ok = lc["rewrap_ratio_vs_rotate"] >= 5
    failed += not ok
    print(
        f"{'PASS' if ok else 'MISS'}  rewrap of 100 KiB: {lc['rewrap_ratio_vs_rotate']:.1f}x "
        "the rate of rotate (target >= 5x)"
    )
    failed += _report_stores(results)
    b = results["bulk"]
    import bulk as bulk_bench  # benchmarks/bulk.py, put on the path by bulk()

    failed += bulk_bench.report(b)
    if "store_transfer" in b:
        print(f"INFO  S3 header replace through the store seam: {json.dumps(b['store_transfer'])}")
    if "aio_reads" in b:
        import aio_reads  # benchmarks/aio_reads.py, on the path since bulk()

        failed += aio_reads.report(b["aio_reads"])
    if "obj_bulk" in b:
        import obj_bulk  # benchmarks/obj_bulk.py, on the path since bulk()

        failed += obj_bulk.report(b["obj_bulk"])
    dk = b["dask"]
    print(
        f"INFO  Dask LocalCluster (2 workers) vs the local engine: {dk['dask_vs_local']:.2f}x "
        f"({dk['dask_2_workers_per_s']:.0f} vs {dk['local_engine_per_s']:.0f} documents/s)"
    )
    d = results["delivery"]
    print(
        "INFO  deliver 200 KiB for a password (Argon2id 64 MiB x 3): "
        f"{1000 * d['deliver_s']:.0f} ms per document, {100 * d['kdf_share']:.1f}% of it the "
        f"KDF; {d['deliveries_per_s']:.1f} deliveries/s on {d['workers']} cores"
    )
    print(
        f"INFO  pyrage passphrase (scrypt 2^19) {1000 * d['pyrage_s']:.0f} ms, "
        f"{d['pyrage_per_s']:.2f}/s: sealdoc {d['deliver_ratio_vs_pyrage']:.1f}x its rate "
        f"({d['deliver_age_memory_ratio_vs_pyrage']:.1f}x with Argon2id at age's 512 MiB)"
    )
    import age as age_bench

    failed += age_bench.report(results["age"])
    rss = max(
        results["streaming"]["sealdoc_seal_peak_rss_mib"],
        results["streaming"]["sealdoc_open_peak_rss_mib"],
    )
    print(f"{'PASS' if rss < 64 else 'MISS'}  streaming peak RSS: {rss:.1f} MiB (target < 64)")
    import fixed_cost  # benchmarks/fixed_cost.py, put on the path by fixed()

    failed += fixed_cost.report(results["fixed"])
    if failed:
        print(f"{failed} target(s) missed: see docs/performance.md for what limits them")


def _only(section: str, quick: bool) -> int:
    """``--only SECTION``: run one section and print its figures (and its targets)."""
    if section == "serve":
        print(json.dumps(serving(quick), indent=2))
    elif section == "delivery":
        print(json.dumps(delivery(quick), indent=2))
    elif section == "age":
        import age as age_bench

        figures = age_bench.measure(quick)
        print(json.dumps(figures, indent=2))
        age_bench.report(figures)
    elif section == "fixed":  # issue 24: CLI start-up, vault put --from
        with tempfile.TemporaryDirectory(prefix="sealdoc-bench-") as name:
            figures = fixed(Path(name), quick)
        print(json.dumps(figures, indent=2))
        import fixed_cost

        fixed_cost.report(figures)
    elif section == "bulk":
        with tempfile.TemporaryDirectory(prefix="sealdoc-bench-") as name:
            figures = bulk(Path(name), quick)
        print(json.dumps(figures, indent=2))
        import bulk as bulk_bench

        bulk_bench.report(figures)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="sealdoc benchmarks against peers")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    parser.add_argument(
        "--only",
        choices=["delivery", "bulk", "serve", "age", "fixed", "keystore"],
        help="run one section and print its figures only",
    )
    args = parser.parse_args()
    if args.only:
        return _only(args.only, args.quick)
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "quick": args.quick,
    }
    with tempfile.TemporaryDirectory(prefix="sealdoc-bench-") as name:
        tmp = Path(name)
        print("1 KiB documents ...", flush=True)
        results["small"] = small_documents(tmp, args.quick)
        print("10 MiB in memory ...", flush=True)
        results["memory"] = in_memory(args.quick)
        print("streaming file to file ...", flush=True)
        results["streaming"] = streaming(tmp, args.quick)
        print("key lifecycle ...", flush=True)
        results["lifecycle"] = lifecycle(tmp, args.quick)
        print("storage ...", flush=True)
        results["storage"] = storage(tmp, args.quick)
        print("key providers: HSM and KMS ...", flush=True)
        hsm_dir = tmp / "hsm"
        hsm_dir.mkdir()
        results["hsm"] = hsm(hsm_dir, args.quick)
        results["kms"] = kms_cache(args.quick)
        print("bulk rotation ...", flush=True)
        bulk_dir = tmp / "bulk"
        bulk_dir.mkdir()
        results["bulk"] = bulk(bulk_dir, args.quick)
        print("delivery ...", flush=True)
        results["delivery"] = delivery(args.quick)
        print("serving over HTTP ...", flush=True)
        results["serve"] = serving(args.quick)
        print("post-quantum wraps and age files ...", flush=True)
        import age as age_bench

        results["age"] = age_bench.measure(args.quick)
        print("fixed costs: CLI start-up, vault put --from ...", flush=True)
        fixed_dir = tmp / "fixed"
        fixed_dir.mkdir()
        results["fixed"] = fixed(fixed_dir, args.quick)
        print("customer key store ...", flush=True)
        results["keystore"] = keystore(tmp, args.quick)
        shutil.rmtree(tmp, ignore_errors=True)
    _report(results)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(benchmark driver peak RSS {own:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
