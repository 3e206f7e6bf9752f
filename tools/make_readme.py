"""Write README.md from nbs/index.ipynb (nbdev-readme needs Quarto, which these machines cannot install).

The README is the index notebook's visible cells as plain GitHub/PyPI markdown: markdown cells verbatim,
code cells without a `#| hide` directive as ```python blocks. `tests/test_readme.py` fails when they drift.
Usage: python tools/make_readme.py [--check]"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n"

def readme_text(nb_path=ROOT/'nbs'/'index.ipynb'):
    "README markdown from the visible cells of the index notebook"
    parts = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        src = ''.join(c['source']).strip()
        if not src: continue
        if c['cell_type'] == 'markdown': parts.append(src)
        elif c['cell_type'] == 'code' and not any(l.strip().replace(' ', '') in ('#|hide', '#|exporti') for l in src.splitlines()):
            parts.append('```python\n' + src + '\n```')
    return NOTE + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    txt, dst = readme_text(), ROOT/'README.md'
    if '--check' in sys.argv: sys.exit(0 if dst.exists() and dst.read_text() == txt else 'README.md is out of date: run python tools/make_readme.py')
    dst.write_text(txt)
