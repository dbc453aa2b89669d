"""Developer and CI sessions. ``python3 -m nox -l`` lists them.

Every session installs what it needs into its own virtualenv, so each
command works on a fresh machine with only Python and nox.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
LINT_PATHS = ["src", "tests", "benchmarks", "examples", "scripts", "fuzz", "noxfile.py"]
BENCH_PEERS = ["tink", "aws-encryption-sdk", "aws-cryptographic-material-providers", "pyrage"]
# for the provider benchmarks: SoftHSM2 through python-pkcs11, KMS on moto's server
BENCH_PROVIDERS = [
    "python-pkcs11",
    "s3fs==2026.9.0",
    "boto3==1.43.117",
    "moto[server]>=5.1",
    "dask[distributed]",
]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (vectors, second decoder, properties, CLI, S3, KMS, HSM)."""
    session.run("bash", "scripts/system-packages.sh", external=True)
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the library, tests, scripts and examples."""
    session.install("-e", ".[test]", "mypy>=1.13", "nox")
    session.run("mypy", "--strict")


@nox.session
def docs(session: nox.Session) -> None:
    """Run every example in docs/, README.md, the docstrings and examples/."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--doctest-glob=*.md",
        "--doctest-modules",
        "-o",
        "testpaths=",
        "docs",
        "README.md",
        "src/sealdoc",
    )
    for example in sorted((ROOT / "examples").glob("*.py")):
        session.run("python", str(example), env={"SEALDOC_EXAMPLE_TMP": session.create_tmp()})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers named in the issues, measured in the same run.

    ``nox -s bench -- --quick`` runs smaller sizes.
    """
    session.run("bash", "scripts/system-packages.sh", external=True)
    session.install("-e", ".", *BENCH_PEERS, *BENCH_PROVIDERS)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris) of every parser of untrusted input (docs/fuzzing.md).

    ``nox -s fuzz`` runs each harness for 30 seconds from the committed
    corpus; ``nox -s fuzz -- --minutes 10 --jobs 2`` is a campaign, and
    harness names (``header open ...``) choose some. Any exception but a
    SealdocError, a timeout or a memory overrun fails the session.
    """
    # the aws and pkcs11 extras: key_from_uri's harness reaches their URI parsers
    session.install("-e", ".[fuzz,aws,pkcs11]")
    args = session.posargs
    if not any(a in ("--minutes", "--seconds") for a in args):
        args = [*args, "--seconds", "30"]
    session.run("python", "fuzz/runner.py", *args)


@nox.session
def demo(session: nox.Session) -> None:
    """The quick start: a local keyring and a local folder under ./demo/."""
    session.install("-e", ".[cli]")
    demo_dir = ROOT / "demo"
    demo_dir.mkdir(exist_ok=True)
    env = {
        "SEALDOC_KEYRING": str(demo_dir / "keyring.json"),
        "SEALDOC_PASSPHRASE": os.environ.get(
            "SEALDOC_PASSPHRASE", "demo passphrase, not for real use"
        ),
    }
    session.run("python", "examples/quickstart.py", str(demo_dir), env=env)
    # The same documents from the command line: the header needs no key.
    session.run("sealdoc", "inspect", str(demo_dir / "vault" / "claim-88412.txt.sdoc"), env=env)
