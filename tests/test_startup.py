"""What a fresh interpreter loads for ``sealdoc --help`` and for one local ``vault put``.

Start-up time is mostly imports (docs/performance.md, "CLI start-up"). The
modules below are the heavy ones no such command needs: cloud clients,
the PDF library, Dask, and tenacity (which pulls in asyncio's and tornado's
event-loop support). Argon2 is needed by a put only to unlock the keyring,
and fsspec only to open a store: ``--help`` needs neither.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from sealdoc._cli.app import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
PASS = "correct horse battery staple"

# Runs the command line as the console script does, then prints sys.modules.
_RUN = """
import json, sys
sys.argv = ["sealdoc", *sys.argv[1:]]
from sealdoc._cli_entry import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""

NEVER = ("s3fs", "botocore", "boto3", "aiobotocore", "pikepdf", "dask", "distributed", "tornado")
# fsspec too: importing it scans every installed package's entry points
NOT_FOR_HELP = (*NEVER, "tenacity", "nacl.pwhash", "argon2", "pyarrow", "pandas", "fsspec")


def _loaded(tmp_path: Path, *args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEALDOC_", "AWS_"))}
    env |= {"SEALDOC_KEYRING": str(tmp_path / "ring.json"), "SEALDOC_PASSPHRASE": PASS}
    env["PYTHONPATH"] = str(ROOT / "src")
    result = subprocess.run(
        [sys.executable, "-c", _RUN, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    marker = result.stderr.rindex("MODULES ")
    return set(json.loads(result.stderr[marker + len("MODULES ") :]))


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m in names or m.startswith(tuple(n + "." for n in names)))


def test_help_loads_no_cloud_client_pdf_dask_retry_argon2_or_fsspec(tmp_path: Path) -> None:
    modules = _loaded(tmp_path, "--help")
    assert "sealdoc._cli.app" in modules  # the probe saw the command line run
    assert _heavy(modules, NOT_FOR_HELP) == []
    # the root group lists its commands from a table, importing none of them
    commands = ("keys", "files", "store", "vault", "deliver", "identity", "serve", "customers")
    assert sorted(modules & {f"sealdoc._cli.{m}" for m in commands}) == []
    # nor the library: --help names the commands and options, it runs nothing
    assert _heavy(modules, ("attr", "attrs", "cryptography", "nacl")) == []
    assert sorted(m for m in modules if m.startswith("sealdoc.")) == [
        "sealdoc._cli",
        "sealdoc._cli.app",
        "sealdoc._cli.config",
        "sealdoc._cli.lazy",
        "sealdoc._cli.state",
        "sealdoc._cli_entry",
        "sealdoc._lazy",
    ]


def test_a_local_put_loads_no_cloud_client_pdf_or_dask(tmp_path: Path) -> None:
    _loaded(tmp_path, "keys", "init")
    (tmp_path / "s.txt").write_bytes(b"statement 2026-11\n")
    url = f"file://{tmp_path}/vault"
    modules = _loaded(tmp_path, "vault", "put", url, "C-1029/2026-11", "s.txt")
    assert "sealdoc._vault" in modules
    assert (tmp_path / "vault").is_dir()  # the put happened
    assert _heavy(modules, (*NEVER, "tenacity", "pyarrow", "pandas")) == []
    # nor sealdoc's own parts that a put does not use: the bulk engine, the age
    # reader, the HTML page reader, the other commands, the other key providers
    unused: tuple[str, ...] = (
        "sealdoc._bulk.engine",
        "sealdoc._bulk.dask",
        "sealdoc._age.files",
        "sealdoc._html",
    )
    unused += ("sealdoc._cli.files", "sealdoc._cli.keys", "sealdoc._cli.deliver")
    unused += (
        "sealdoc.providers._aws_kms",
        "sealdoc.providers._pkcs11",
        "sealdoc.providers._hybrid",
    )
    assert sorted(modules & set(unused)) == []


def test_each_summary_in_the_root_table_is_its_commands_first_sentence() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name, entry in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.name == name
        assert command.get_short_help_str(10**6) == entry.summary, name
        # the root's --help shortens the summary as click would the docstring
        stand_in = click.Command(name, help=entry.summary)
        for limit in (20, 45, 70):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)
        assert any(p.name == "config" for p in command.params)  # add_config_everywhere ran


def test_shell_completion_lists_the_commands_not_yet_imported(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env |= {"_SEALDOC_COMPLETE": "bash_complete", "COMP_WORDS": "sealdoc ro", "COMP_CWORD": "1"}
    env["PYTHONPATH"] = str(ROOT / "src")
    probe = "import sys; sys.argv = ['sealdoc']; from sealdoc._cli_entry import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
    )
    assert result.stdout.split() == ["plain,rotate"], result.stderr
    env |= {"COMP_WORDS": "sealdoc vault p", "COMP_CWORD": "2"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
    )
    assert result.stdout.split() == ["plain,put"], result.stderr
