"""Every command of the sealdoc CLI, fed bad names, versions, URLs and files: never a traceback.

The commands are enumerated from the click group, so a command added later
is driven too. Each parameter in turn gets bad values (by its name where it
has a known meaning, else by its click type) while the others keep good
ones. Whatever happens must be one of docs/cli.md's exit codes with a
message, never an exception escaping the command. Ctrl-C during start-up
is a real SIGINT sent to a real process.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import sealdoc
from sealdoc._cli import cli

PASS = "correct horse battery staple"
FAST = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}
EXIT_CODES = {0, 1, 2, 3}

# Parameters left out, each with its reason: none may be left out silently.
SKIPPED = {
    "dask_address": "a real address makes a Dask client wait for its connect timeout",
    "config": "the config file has tests of its own (test_cli.py); it is not a target here",
    "help": "not an input",
    "version": "not an input",
}


def subcommand(group: click.Group, name: str) -> click.Command:
    # as click and sphinx-click walk it: the root group imports a command only when asked
    command = group.get_command(click.Context(group), name)
    assert command is not None, name
    return command


def leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name in group.list_commands(click.Context(group)):
        command = subcommand(group, name)
        if isinstance(command, click.Group):
            yield from leaves(command, (*path, name))
        else:
            yield (*path, name)


def command_of(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = subcommand(command, name)
    return command


COMMANDS = list(leaves(cli))


class World:
    """A keyring, a folder vault with one document, a sealed file, and bad files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ring_path = root / "ring.json"
        ring = sealdoc.LocalKeyring.create(self.ring_path, passphrase=PASS, **FAST)
        self.vault_path = root / "vault"
        vault = sealdoc.Vault(f"file://{self.vault_path}", keys=ring)
        vault.put("a/1", b"document one", context={"tenant": "acme"})
        self.sealed = root / "doc.sdoc"
        self.sealed.write_bytes(sealdoc.seal(b"sealed file", keys=ring))
        self.truncated = root / "truncated.sdoc"
        self.truncated.write_bytes(self.sealed.read_bytes()[:-20])
        self.plain = root / "plain.txt"
        self.plain.write_bytes(b"plain text\n")
        self.empty = root / "empty"
        self.empty.write_bytes(b"")
        self.garbage = root / "garbage"
        self.garbage.write_bytes(b"\x00\xff" * 40)
        self.secret = root / "secret.txt"
        self.secret.write_text("another long passphrase\n")
        self.secret.chmod(0o600)
        self.same_secret = root / "same-secret.txt"  # a passphrase "changed" to itself
        self.same_secret.write_text(PASS)
        self.same_secret.chmod(0o600)
        self.folder = root / "folder"
        self.folder.mkdir()
        self.counter = itertools.count()

    def fresh(self, suffix: str = "") -> str:
        return str(self.root / f"out-{next(self.counter)}{suffix}")

    @property
    def ring_uri(self) -> str:
        return f"local://{self.ring_path}"

    def good(self, name: str, param: click.Parameter) -> list[str] | None:
        """A good value for ``param`` (None: leave it out)."""
        store = f"file://{self.vault_path}"
        by_name: dict[str, list[str] | None] = {
            "store_url": [store],
            "target": [store],
            "doc_id": ["a/1"],
            "doc_ids": ["a/1"],
            "source": [str(self.sealed)],
            "output": [self.fresh()],
            "path": [self.fresh(".key")],
            "version": ["1"],
            "key_id": ["default"],
            "key_uris": [self.ring_uri],
            "password_file": [str(self.secret)],
            "new_passphrase_file": [str(self.same_secret)],
            "identity_passphrase_file": [str(self.secret)],
        }
        if name in by_name:
            return by_name[name]
        if param.required:
            return ["x"]
        return None

    def bad(self, name: str, param: click.Parameter) -> list[str]:
        """Bad values for ``param``: by its meaning where known, else by its type."""
        files = [
            str(self.root / "missing"),
            str(self.folder),
            str(self.empty),
            str(self.garbage),
            str(self.truncated),
        ]
        names = ["nosuch", "", "a/../b", "x\x01y", "n@kr-000000000000", "\u00e9" * 300, "-"]
        urls = [
            "nosuch://x",
            f"file://{self.root}/nonexistent/folder",  # never outside the test's folder
            f"{self.ring_uri}#nosuch",
            f"local://{self.root}/nonexistent/ring.json",
            "local://host/ring.json",
            f"local://{self.garbage}",
            "local:relative.json",
            "x25519:garbage",
            "pkcs11:",
            "aws-kms://",
            str(self.root / "missing-folder"),
            str(self.plain),
            "",
            ":::",
        ]
        versions = ["0", "-1", "7", "99999999999", "x", "1.5"]
        by_name = {
            "version": versions,
            "key_id": names,
            "doc_id": names,
            "doc_ids": names,
            "prefix": ["", "../x", "nosuch/", "\x00"],
            "personal": ["", "x", "=", "a=b=c"],
            "recipients": urls,
            "key_uris": urls,
            "to_uris": urls,
            "check_stores": urls,
            "store_url": urls,
            "target": urls,
            "drops": ["x", "local:", "local:nosuch#7", "local:default#x", ""],
            "source": [*files, "nosuch://x", f"file://{self.root}/nonexistent"],
            "output": [str(self.folder), str(self.root / "missing" / "x"), str(self.plain)],
            "context_pairs": ["x", "=v", "k=", "\x00=v"],
            "binding_pairs": ["x", "=v", "k="],
            "storage_options": ["x", "=", "a=b", "anon=maybe"],
            "password_env": ["SEALDOC_TEST_UNSET", ""],
            "identity_passphrase_env": ["SEALDOC_TEST_UNSET", ""],
            "new_passphrase_env": ["SEALDOC_TEST_UNSET", ""],
            "after": ["0d", "x", "-1d", "99999999999d"],
            "segment_size": ["0", "-1", "1", "99999999999"],
            "filename": ["", "../x", "a\x00b"],
        }
        if name in by_name:
            return by_name[name]
        kind = param.type
        if isinstance(kind, click.types.IntParamType):
            return versions
        if isinstance(kind, click.Path | click.File):
            return files
        if isinstance(kind, click.Choice | click.types.BoolParamType):
            return ["nosuch"]
        return names + urls


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    # relative paths, and an empty URL, land here and never in the checkout
    monkeypatch.chdir(tmp_path)
    return World(tmp_path)


def argv_for(param: click.Parameter, values: list[str]) -> list[str]:
    if isinstance(param, click.Argument):
        return values
    assert isinstance(param, click.Option)
    flag = max(param.opts, key=len)
    return [part for value in values for part in (flag, value)]


def invoke(world: World, argv: list[str]) -> tuple[int, str, BaseException | None]:
    runner = CliRunner()
    env = {
        "SEALDOC_KEYRING": str(world.ring_path),
        "SEALDOC_PASSPHRASE": PASS,
        "SEALDOC_CONFIG": "",
        "SEALDOC_PASSPHRASE_FILE": "",
        "SEALDOC_TEST_UNSET": None,
    }
    result = runner.invoke(cli, argv, env=env, catch_exceptions=True)
    escaped = result.exception
    if isinstance(escaped, SystemExit):
        escaped = None
    return result.exit_code, result.stderr if result.stderr_bytes else result.output, escaped


def cases(world: World, path: tuple[str, ...]) -> Iterator[list[str]]:
    command = command_of(path)
    params = [p for p in command.params if p.name and p.name not in SKIPPED]
    good = {p.name: world.good(p.name, p) for p in params if p.name}
    flags = [p for p in params if isinstance(p, click.Option) and p.is_flag]
    # with the destroy-now flag, a destroy does what it says
    base_flags = ["--yes-destroy-last"] if any(f.name == "confirm" for f in flags) else []
    for target in params:
        if target in flags:
            continue
        assert target.name is not None
        for value in world.bad(target.name, target):
            argv = [*path]
            for p in params:
                if p in flags or p.name is None:
                    continue
                values = [value] if p is target else good[p.name]
                if values is not None:
                    argv += argv_for(p, values)
            yield [*argv, *base_flags]


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_bad_input_never_gives_a_traceback(world: World, path: tuple[str, ...]) -> None:
    seen = 0
    for argv in cases(world, path):
        seen += 1
        code, stderr, escaped = invoke(world, argv)
        shown = " ".join(repr(a) for a in argv)
        assert escaped is None, f"sealdoc {shown}: {type(escaped).__name__}: {escaped}"
        assert "Traceback" not in stderr, f"sealdoc {shown}:\n{stderr}"
        assert code in EXIT_CODES, f"sealdoc {shown}: exit {code}\n{stderr}"
        if code:
            assert stderr.strip(), f"sealdoc {shown}: exit {code} and no message"
    params = [p for p in command_of(path).params if p.name not in SKIPPED]
    assert seen or all(isinstance(p, click.Option) and p.is_flag for p in params)


def test_every_parameter_left_out_has_a_reason() -> None:
    names = {p.name for path in COMMANDS for p in command_of(path).params}
    assert set(SKIPPED) - {"help", "version"} <= names | {"config"}


def console_script() -> list[str]:
    """The command pip's ``sealdoc`` script runs, read from pyproject.toml as pip reads it."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    module, _, function = project["scripts"]["sealdoc"].partition(":")
    code = f"import sys; from {module} import {function}; sys.exit({function}())"
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("delay", [0.1, 0.15, 0.2, 0.25, 0.3, 0.5])
def test_ctrl_c_during_start_up_exits_130_quietly(tmp_path: Path, delay: float) -> None:
    sealdoc.LocalKeyring.create(tmp_path / "ring.json", passphrase=PASS)  # a slow load
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    src = str(Path(sealdoc.__file__).parent.parent)
    env.update(PYTHONPATH=src, SEALDOC_KEYRING=str(tmp_path / "ring.json"), SEALDOC_PASSPHRASE=PASS)
    proc = subprocess.Popen(
        [*console_script(), "keys", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 0 or (proc.returncode == -signal.SIGINT and out):
        # the machine was quick: the command finished first, and the signal came
        # at the end or during the interpreter's shutdown (which restores the
        # default disposition, so the process then dies by the signal)
        assert out.startswith(b"default\t1")
        return
    assert b"Traceback" not in err, err.decode()
    assert b"KeyboardInterrupt" not in err
    assert proc.returncode == 130, (proc.returncode, err)
    assert err == b""
