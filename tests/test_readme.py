"README.md is generated from nbs/index.ipynb; it must not drift, and it must state the three commands CI runs."
import re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from make_readme import readme_text

def test_readme_matches_index():
    assert (ROOT/'README.md').read_text() == readme_text(), "README.md drifted from nbs/index.ipynb: run python tools/make_readme.py"

def _ci_lines():
    txt = (ROOT/'.ci'/'run').read_text()
    setup = re.search(r'# --- README: set-up ---\n(.+)\n', txt).group(1).strip()
    test = re.search(r'# --- README: test ---\n(.+)\n', txt).group(1).strip()
    return setup, test

def test_ci_runs_the_readme_commands():
    readme = (ROOT/'README.md').read_text()
    setup, test = _ci_lines()
    assert setup in readme, f"the README does not give .ci/run's set-up command: {setup}"
    assert test in readme, f"the README does not give .ci/run's test command: {test}"
