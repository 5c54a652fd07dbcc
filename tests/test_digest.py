"""The data file's SHA-256: started early by the CLI, never stale, never in the way."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from modelcards import _digest
from modelcards._digest import sha256_future, start_sha256

ROOT = Path(__file__).resolve().parent.parent


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_hash_started_early_is_the_files_hash(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n" * 100_000)
    start_sha256(path)
    assert sha256_future(path).result() == _sha(path)


def test_a_file_changed_after_the_early_start_is_hashed_again(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    start_sha256(path)
    _digest._STARTED[os.path.realpath(path)][1].result()  # the old content's hash is done
    path.write_bytes(b"a,b\n3,4\n")  # same size, new content
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # coarse clocks
    assert sha256_future(path).result() == _sha(path)


def test_an_early_hash_serves_one_card_only(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    start_sha256(path)
    first = sha256_future(path)
    assert sha256_future(path) is not first  # taken: a later card hashes anew


def test_a_path_that_is_not_a_file_is_not_hashed_early(tmp_path):
    start_sha256(tmp_path)
    start_sha256(tmp_path / "missing.csv")
    started = set(_digest._STARTED)  # other tests' CLI runs may have left their own
    assert not started & {os.path.realpath(tmp_path), os.path.realpath(tmp_path / "missing.csv")}


def test_a_batched_card_imports_no_database_library(tmp_path):
    """A card needs its Review section, not the review store: SQLAlchemy (a few tenths
    of a second to import) is left for the commands that use the store."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from modelcards import synthesize\n"
        "from modelcards.cli import main\n"
        f"p = {str(tmp_path / 's.parquet')!r}\n"
        "synthesize(3000, seed=1).to_parquet(p)\n"
        "for engine in ('batched', 'memory'):\n"
        "    r = CliRunner().invoke(main, ['card', '--data', p, '--target', 'approved',\n"
        "        '--scores', 'score', '--threshold', '0.5', '--sensitive', 'sex,group',\n"
        f"        '--engine', engine, '--out', {str(tmp_path)!r} + '/' + engine])\n"
        "    assert r.exit_code == 0, r.output\n"
        "assert 'sqlalchemy' not in sys.modules, 'a card imported sqlalchemy'\n"
    )
    env = {**os.environ, "MODELCARDS_HOME": str(tmp_path / "home")}
    env.pop("MODELCARDS_DB_URL", None)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)


def test_a_file_hashed_window_by_window_has_sha256sums_hash(tmp_path, monkeypatch):
    import mmap

    monkeypatch.setattr(_digest, "_WINDOW", mmap.ALLOCATIONGRANULARITY)
    rng = __import__("random").Random(3)
    for size in (0, 1, 4095, 4096, 4097, 3 * 4096 + 5):
        path = tmp_path / f"f{size}"
        path.write_bytes(rng.randbytes(size))
        assert _digest.sha256_file(path) == _sha(path), size
