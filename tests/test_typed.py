"""Users' programs type-check with mypy --strict against the installed package.

mypy runs in a subprocess, from a folder outside the repository (so none of
the project's mypy settings apply) and with MYPYPATH unset, so sealdoc is
found as users find it: an installed package whose ``py.typed`` marker makes
its annotations count. A broken public annotation fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# What a user's own mypy setup would say about libraries that ship no types.
CONFIG = """\
[mypy]
strict = True
warn_unreachable = True

[mypy-pandas.*,pikepdf.*]
ignore_missing_imports = True
"""

# A small user program over the public API: key URIs, providers, the Vault,
# headers and errors, as a platform team would write it.
USER_PROGRAM = """\
from __future__ import annotations

import io

import sealdoc
from sealdoc.exceptions import DecryptionError
from sealdoc.providers import KeyProvider, Password, X25519Identity


def seal_for(device: X25519Identity, data: bytes) -> bytes:
    ring = sealdoc.MemoryKeyring()
    keys: list[KeyProvider | str] = [ring, device.recipient]
    sealed: bytes = sealdoc.seal(data, keys=keys, context={"tenant": "acme"})
    header: sealdoc.Header = sealdoc.inspect(sealed)
    labels: list[str] = [w.label for w in header.wrapped_keys]
    assert labels
    moved: bytes = sealdoc.rewrap(sealed, keys=ring, to=device.recipient, drop=None)
    out = io.BytesIO()
    written: int = sealdoc.seal_stream(io.BytesIO(data), out, keys="x25519:" + "A" * 43)
    assert written > 0
    current: bool = sealdoc.is_current(moved, keys=[device])
    assert current
    return sealdoc.deliver(sealed, keys=ring, to=Password("a long delivery password"))


def open_or_none(sealed: bytes, keys: sealdoc.LocalKeyring | str) -> bytes | None:
    try:
        return sealdoc.open(sealed, keys=keys, context={"tenant": "acme"})
    except DecryptionError:
        return None


def store(url: str, key_uri: str) -> list[str]:
    vault = sealdoc.Vault(url, keys=[key_uri])
    vault.put("statements/2026-11", b"...")
    provider: KeyProvider = sealdoc.key_from_uri(key_uri)
    assert provider
    return list(vault.list("statements/"))
"""

# The same program with one call the annotations forbid: mypy must say so.
WRONG = (
    USER_PROGRAM
    + """

def broken(ring: sealdoc.MemoryKeyring) -> bytes:
    return sealdoc.seal("a str is not bytes", keys=ring)
"""
)


def mypy(tmp_path: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "mypy.ini").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", ".mypy"]
        + [str(f) for f in files],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("typed")


def test_mypy_resolves_the_installed_package(workdir: Path) -> None:
    import sealdoc

    probe = workdir / "probe.py"
    probe.write_text("import sealdoc\nreveal_type(sealdoc.seal)\n")
    result = mypy(workdir, probe)
    assert "def (data:" in result.stdout, result.stdout + result.stderr
    assert (Path(sealdoc.__file__).parent / "py.typed").is_file()


def test_the_examples_and_a_user_program_pass_mypy_strict(workdir: Path) -> None:
    assert EXAMPLES, "examples/ has programs"
    program = workdir / "user_program.py"
    program.write_text(USER_PROGRAM)
    result = mypy(workdir, *EXAMPLES, program)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in" in result.stdout


def test_a_call_the_annotations_forbid_is_reported(workdir: Path) -> None:
    program = workdir / "wrong.py"
    program.write_text(WRONG)
    result = mypy(workdir, program)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument 1 to "seal" has incompatible type "str"' in result.stdout
    assert result.stdout.count("error:") == 1, result.stdout
