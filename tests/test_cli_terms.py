"""The CLI speaks in flags, not Python parameters; its config file is checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

import sealdoc
from sealdoc._cli.errors import translate

from .test_cli import PASS, run

PYTHON_TERMS = re.compile(rb"=True|binding=|keys=|confirm=|passphrase=|\bto=")


@pytest.fixture
def d(tmp_path: Path) -> Path:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    sealdoc.Vault(f"file://{tmp_path}/v", keys=ring).put("doc-1", b"bound")
    device = sealdoc.providers.X25519Identity.generate()
    (tmp_path / "two.sdoc").write_bytes(sealdoc.seal(b"x", keys=[ring, device]))
    (tmp_path / "plain.txt").write_bytes(b"plain")
    return tmp_path


ERROR_PATHS = [
    ("keys", "destroy", "1", "--after", "7d"),  # the primary: rotate first
    ("open", "v/doc-1.sdoc", "-o", "x"),  # bound, no --binding
    ("rewrap", "v/doc-1.sdoc", "-o", "x"),
    ("rotate", "two.sdoc", "-o", "x"),  # would lose the device's wrap
    ("open", "plain.txt", "-o", "x"),
    ("open", "two.sdoc", "-o", "x", "--binding", "a=b"),
    ("open", "v/doc-1.sdoc", "-o", "x", "--key", "local:///nonexistent/ring.json"),
    ("seal", "plain.txt", "-o", "x", "--key", "nosuch:thing"),
    ("vault", "get", "file:///nonexistent", "doc", "-o", "x"),
    ("inventory", "file:///nonexistent"),
]


@pytest.mark.parametrize("args", ERROR_PATHS, ids=lambda a: " ".join(a[:2]))
def test_error_messages_name_flags_not_parameters(d: Path, args: tuple[str, ...]) -> None:
    result = run(d, *args)
    assert result.returncode != 0, args
    assert result.stderr.startswith(b"sealdoc: "), result.stderr
    assert b"Traceback" not in result.stderr
    assert not PYTHON_TERMS.search(result.stderr), result.stderr
    assert not (d / "x").exists()


def test_a_local_key_uri_without_a_passphrase(d: Path) -> None:
    uri = f"local://{d / 'ring.json'}"
    result = run(d, "open", "two.sdoc", "-o", "x", "--key", uri, passphrase=None)
    assert result.returncode == 1
    assert b"--passphrase-file" in result.stderr
    assert not PYTHON_TERMS.search(result.stderr), result.stderr


def test_translate_rewrites_library_wording() -> None:
    assert translate("the document was sealed with a binding; pass binding=") == (
        "the document was sealed with a binding; give it with --binding KEY=VALUE"
    )
    assert "--yes-destroy-last" in translate("Pass confirm=True to destroy it anyway.")
    assert translate("use allow_empty=True for that") == "use --allow-empty for that"
    assert translate("pass that provider in keys=, or the new set in to=") == (
        "give that key with --key URI, or the new set with --to URI"
    )
    assert translate("no keys= here: a keyset") == "no --key here: a keyset"
    assert translate("keys are fine; tokens=3") == "keys are fine; tokens=3"


def test_an_unknown_config_key_is_named(d: Path) -> None:
    (d / "bad.toml").write_text('keyrnig = "ring.json"\n')
    top = run(d, "--config", "bad.toml", "keys", "list")
    assert top.returncode == 2
    assert b"'keyrnig'" in top.stderr
    (d / "bad2.toml").write_text("[rewrap]\nworkres = 3\n")
    section = run(d, "--config", "bad2.toml", "keys", "list")
    assert section.returncode == 2
    assert b"'rewrap.workres'" in section.stderr
    assert b"workers" in section.stderr  # the keys that do exist there
    (d / "bad3.toml").write_text("[nosuchcommand]\nx = 1\n")
    assert b"'nosuchcommand'" in run(d, "--config", "bad3.toml", "keys", "list").stderr


def test_config_after_the_subcommand_and_its_global_keys(d: Path) -> None:
    (d / "secret").write_text(PASS + "\n")
    ring = d / "ring.json"
    (d / "c.toml").write_text(
        f'keyring = "{ring}"\npassphrase-file = "secret"\n\n'
        "[keys.list]\n\n[inventory]\njson = true\nallow-empty = true\n"
    )
    listed = run(d, "--keyring", "elsewhere.json", "keys", "list", "--config", "c.toml")
    assert listed.returncode == 1  # the command line wins over the file
    listed = run(d, "keys", "list", "--config", "c.toml", passphrase=None, SEALDOC_KEYRING="")
    assert listed.stdout == b"default\t1\tenabled (primary)\n", listed.stderr
    counted = run(d, "inventory", f"file://{d}/none", "--config", "c.toml", passphrase=None)
    assert (counted.returncode, json.loads(counted.stdout)["counts"]) == (0, {}), counted.stderr


def test_progress_on_a_terminal_drives_clicks_bar() -> None:
    import io

    import click

    from sealdoc._cli.progress import _Bar

    out = io.StringIO()
    with click.progressbar(length=0, file=out) as bar:
        on_progress = _Bar(bar)
        on_progress(1, 10)  # the listing is still going: total grows
        on_progress(5, 40)
        assert (bar.pos, bar.length) == (5, 40)


def test_progress_without_a_terminal_is_log_lines(d: Path) -> None:
    url = f"file://{d}/v"
    result = run(d, "rewrap", url)
    assert result.returncode == 0, result.stderr
    assert b"rewrap: 1/1 documents" in result.stderr


def test_storage_options_take_json_values_and_dotted_keys() -> None:
    from sealdoc._cli.options import storage_options

    parsed = storage_options(
        (
            "endpoint_url=http://127.0.0.1:9000",
            "anon=false",
            "max_concurrency=4",
            "client_kwargs.region_name=eu-west-1",
            "profile=prod=1",
        )
    )
    assert parsed == {
        "endpoint_url": "http://127.0.0.1:9000",
        "anon": False,
        "max_concurrency": 4,
        "client_kwargs": {"region_name": "eu-west-1"},
        "profile": "prod=1",
    }
    with pytest.raises(click.BadParameter, match="KEY=VALUE"):
        storage_options(("novalue",))


def test_drop_removes_a_wrap_in_file_mode(d: Path) -> None:
    two = sealdoc.inspect((d / "two.sdoc").read_bytes())
    device = next(w for w in two.wrapped_keys if w.kind == "x25519")
    dropped = run(d, "rewrap", "two.sdoc", "-o", "one.sdoc", "--drop", device.label)
    assert dropped.returncode == 0, dropped.stderr
    kinds = [w.kind for w in sealdoc.inspect((d / "one.sdoc").read_bytes()).wrapped_keys]
    assert kinds == ["local"]
    assert run(d, "rotate", "one.sdoc", "-o", "x").returncode == 0  # nothing left to lose
