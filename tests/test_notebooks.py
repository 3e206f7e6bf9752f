"Every notebook runs (through nbdev's own runner, so `slow`/`notest` cells are skipped); the library and the notebooks are in sync."
import subprocess, shutil, sys
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook
from nbdev.doclinks import nbglob

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(Path(p) for p in nbglob(ROOT/'nbs'))   # recursive, as nbdev-test finds them (nbs/solutions/ included)

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs').with_suffix('')) for p in NBS])
def test_notebook_runs(nb):
    flags = get_config(ROOT).tst_flags.split()
    ok, secs = run_notebook(nb, skip_flags=flags, basepath=ROOT, showerr=True)
    assert ok, f"{nb.name} failed (traceback above)"

def _copy_tree(tmp_path):
    "A copy of the project's tracked sources, to run nbdev commands without touching the work tree"
    dst = tmp_path/'proj'
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns('.venv', '.git', '_docs', '_site', '_proc', '__pycache__',
                                                             '*.egg-info', 'node_modules', 'scb_out', '.scb_cache'))
    return dst

def _snapshot(d, globs):
    return {p.relative_to(d): p.read_bytes() for g in globs for p in sorted(d.glob(g))}

def _changed(before, after): return sorted(str(k) for k in before.keys() | after.keys() if before.get(k) != after.get(k))

def test_export_is_in_sync(tmp_path):
    d = _copy_tree(tmp_path)
    before = _snapshot(d, ['scb_nb/*.py'])
    subprocess.run([str(Path(sys.executable).parent/'nbdev-export')], cwd=d, check=True, capture_output=True)
    changed = _changed(before, _snapshot(d, ['scb_nb/*.py']))
    assert not changed, f"nbdev-export would change {changed}: run nbdev-export and commit"

def test_notebooks_are_clean(tmp_path):
    d = _copy_tree(tmp_path)
    before = _snapshot(d, ['nbs/**/*.ipynb'])
    subprocess.run([str(Path(sys.executable).parent/'nbdev-clean')], cwd=d, check=True, capture_output=True)
    changed = _changed(before, _snapshot(d, ['nbs/**/*.ipynb']))
    assert not changed, f"nbdev-clean would change {changed}: run nbdev-clean and commit"
