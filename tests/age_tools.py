"""The independent age implementations for interop tests: Debian's age, npm's age-encryption.

Both are real: ``age`` comes from scripts/system-packages.sh; the TypeScript
age is installed here, pinned, into a cache directory the first time a test
needs it (``npm install --prefix``), and run under node through
tests/interop/age_tool.mjs. Secrets go through the environment, never argv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

AGE_ENCRYPTION = "age-encryption@0.3.1"
_CACHE = Path(os.environ.get("SEALDOC_TEST_CACHE", Path.home() / ".cache" / "sealdoc-tests"))
_TOOL = Path(__file__).parent / "interop" / "age_tool.mjs"


def age_binary() -> str:
    found = shutil.which("age")
    assert found, "the age tool is missing: run scripts/system-packages.sh"
    return found


def node_age_dir() -> Path:
    """A directory holding age-encryption 0.3.1 and the tool script, installed once."""
    target = _CACHE / AGE_ENCRYPTION.replace("@", "-")
    package = target / "node_modules" / "age-encryption" / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != "0.3.1":
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(target), AGE_ENCRYPTION],
            check=True,
            capture_output=True,
            timeout=600,
        )
    # node finds the package from the script's own directory
    shutil.copyfile(_TOOL, target / "age_tool.mjs")
    return target


def node_age(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["node", str(directory / "age_tool.mjs"), *args],
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def node_keygen(directory: Path, kind: str) -> tuple[str, str]:
    """(identity, recipient) made by the TypeScript age."""
    done = node_age(directory, "keygen", kind)
    assert done.returncode == 0, done.stderr
    keys = json.loads(done.stdout)
    return keys["identity"], keys["recipient"]


def age_with_tty(args: list[str], passphrase: str, timeout: float = 60) -> tuple[int, bytes]:
    """Run the age binary on a pseudo-terminal that types ``passphrase`` at each prompt.

    age reads passphrases from the terminal only (/dev/tty), never a pipe,
    so the test gives it one. Files go through arguments; the exit status
    and what age printed on the terminal are returned.
    """
    import pty  # POSIX only, like the age tests themselves
    import select
    import time

    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        try:
            os.execv(age_binary(), ["age", *args])
        finally:
            os._exit(127)
    seen = b""
    answered = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if seen.lower().count(b"passphrase") > answered:
                answered = seen.lower().count(b"passphrase")
                os.write(master, passphrase.encode() + b"\r")
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen
