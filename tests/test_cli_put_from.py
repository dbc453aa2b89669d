"""sealdoc vault put STORE --from DIR as a subprocess, on a local folder and moto's S3."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import run
from .test_cli_vault import where  # noqa: F401 - the store fixture (a local folder, moto's S3)


def _tree(root: Path) -> dict[str, bytes]:
    files = {f"C-{i}/2026-11.txt": f"statement {i}\n".encode() for i in range(5)}
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return files


def test_put_from_stores_a_folder_resumes_and_reports(
    tmp_path: Path,
    where: tuple[str, dict[str, str]],  # noqa: F811 - the fixture imported above
) -> None:
    url, env = where
    files = _tree(tmp_path / "in")
    load = ("vault", "put", url, "--from", "in", "--workers", "3", "--context", "tenant=acme")
    first = run(tmp_path, *load, env=env)
    assert first.returncode == 0, first.stderr
    assert b"5 stored, 0 already stored unchanged, 0 failed" in first.stdout
    listed = run(tmp_path, "vault", "ls", url, "--json", passphrase=None, env=env)
    assert json.loads(listed.stdout) == sorted(files)
    got = run(
        tmp_path,
        "vault",
        "get",
        url,
        "C-3/2026-11.txt",
        "-o",
        "-",
        "--context",
        "tenant=acme",
        env=env,
    )
    assert (got.returncode, got.stdout) == (0, files["C-3/2026-11.txt"]), got.stderr

    again = run(tmp_path, *load, "--json", env=env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["operation"], report["scanned"], report["skipped"]) == ("put", 5, 5)
    assert report["rewritten"] == 0

    (tmp_path / "in" / "C-1" / "2026-11.txt").write_bytes(b"corrected\n")
    refused = run(tmp_path, *load, env=env)
    assert refused.returncode == 1
    assert b"failed: C-1/2026-11.txt: stored already, with other content" in refused.stderr
    forced = run(tmp_path, *load, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert b"1 stored, 4 already stored unchanged" in forced.stdout
    got = run(tmp_path, "vault", "get", url, "C-1/2026-11.txt", "-o", "-", env=env)
    assert got.stdout == b"corrected\n"


def test_put_from_takes_no_doc_id_and_put_needs_one(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    _tree(tmp_path / "in")
    url = f"file://{tmp_path}/vault"
    both = run(tmp_path, "vault", "put", url, "C-1", "--from", "in")
    assert both.returncode == 2
    assert b"--from DIR takes no DOC_ID" in both.stderr
    neither = run(tmp_path, "vault", "put", url)
    assert neither.returncode == 2
    assert b"give DOC_ID" in neither.stderr
    missing = run(tmp_path, "vault", "put", url, "--from", "no-such-folder")
    assert missing.returncode == 2
