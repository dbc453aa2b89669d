"""Checks a fresh ``pip install 'sealdoc[all]'``: every module imports and every extra works.

Run by ``nox -s install`` inside the virtualenv it has just made. Nothing
here reaches a network: the AWS client is made but not called.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import shutil
import subprocess
import sys
from importlib import metadata

import fsspec
import pikepdf

import sealdoc
from sealdoc.providers import AwsKms

MIN_S3FS = (2025, 1)
SKIPPED = {"sealdoc.__main__", "sealdoc.testing"}


def versions() -> dict[str, str]:
    names = ["s3fs", "aiobotocore", "botocore", "boto3", "fsspec", "dask", "distributed"]
    names += ["python-pkcs11", "pikepdf", "click", "cryptography", "starlette", "uvicorn"]
    return {name: metadata.version(name) for name in names}


def main() -> None:
    found = versions()
    for name, version in found.items():
        print(f"{name:14} {version}")
    year, month = (int(part) for part in found["s3fs"].split(".")[:2])
    if (year, month) < MIN_S3FS:
        sys.exit(f"s3fs {found['s3fs']} is older than {MIN_S3FS}: the resolver fell back")

    # every module of the package, the optional ones included; not __main__
    # (it runs the CLI), nor sealdoc.testing, a pytest plugin for provider
    # authors whose own test suites bring pytest
    modules = [
        m.name for m in pkgutil.walk_packages(sealdoc.__path__, "sealdoc.") if m.name not in SKIPPED
    ]
    for name in modules:
        importlib.import_module(name)
    print(f"imported {len(modules)} sealdoc modules")

    # aws: a KMS client is made (boto3 and botocore agree), not called
    kms = AwsKms("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert kms.__dask_tokenize__()[2] == "eu-west-1"
    # s3: s3fs (over aiobotocore) under the sealdoc:: protocol
    sealed_fs = fsspec.filesystem(
        "sealdoc", keys=sealdoc.MemoryKeyring(), target_protocol="s3", target_options={"anon": True}
    )
    assert type(sealed_fs.fs).__name__ == "S3FileSystem"
    # pkcs11, dask: the libraries the providers and the bulk engine import
    importlib.import_module("pkcs11")
    importlib.import_module("distributed")
    # pdf: a real export through pikepdf
    blank = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(blank)
    exported = sealdoc.export_pdf(blank.getvalue(), password="a long export password")  # noqa: S106
    assert exported.startswith(b"%PDF")
    # serve: the ASGI app is built over a vault, and uvicorn (for `sealdoc serve`) imports
    from sealdoc.serve import DocumentApp  # noqa: PLC0415 - after the extras are checked

    vault = sealdoc.Vault("memory://check-extras/v", keys=sealdoc.MemoryKeyring())
    assert "DocumentApp" in repr(DocumentApp(vault, authorize=lambda *_: False))
    importlib.import_module("uvicorn")
    # cli: the console script is installed and runs
    script = shutil.which("sealdoc")
    if script is None:
        sys.exit("the sealdoc console script is not on PATH")
    subprocess.run([script, "--help"], check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    print("every extra works")


if __name__ == "__main__":
    main()
