"""Author notebooks as percent scripts: `python tools/nbpy.py build SRC.py NB.ipynb` writes a notebook from a
script whose cells start with `# %%` (code) or `# %% [markdown]` (markdown, each line prefixed by `# `);
`python tools/nbpy.py dump NB.ipynb SRC.py` goes back. The notebook stays the source of truth; the script is a
scratch copy for editing with a text editor. Run the notebook afterwards (`tools/run_nb.sh`) to store outputs."""
import json, re, sys
from pathlib import Path

_hdr = re.compile(r'^# %%( \[markdown\])?\s*$')

def script2cells(txt):
    "Split percent-script text into (kind, source) pairs"
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        src = '\n'.join(buf).strip('\n')
        if kind == 'markdown': src = '\n'.join(l[2:] if l.startswith('# ') else l.lstrip('#') for l in src.splitlines())
        if src.strip(): cells.append((kind, src))
    for line in txt.splitlines():
        m = _hdr.match(line)
        if m:
            flush(); kind, buf = ('markdown' if m.group(1) else 'code'), []
        elif kind is not None: buf.append(line)
    flush()
    return cells

def _old_cells(dst):
    "Cells of an existing notebook at `dst`, by (kind, source), so that unchanged cells keep their id and outputs"
    if not Path(dst).exists(): return {}
    return {(c['cell_type'], ''.join(c['source'])): c for c in json.loads(Path(dst).read_text())['cells']}

def build(src, dst):
    "Write notebook `dst` from percent script `src` (unchanged cells keep their id and stored outputs)"
    cells, old = [], _old_cells(dst)
    for kind, s in script2cells(Path(src).read_text()):
        c = dict(cell_type=kind, metadata={}, source=s.splitlines(True))
        if kind == 'code': c.update(execution_count=None, outputs=[])
        prev = old.get((kind, s))
        if prev is not None:
            if 'id' in prev: c['id'] = prev['id']
            if kind == 'code': c['outputs'] = prev.get('outputs', [])
        cells.append(c)
    nb = dict(cells=cells, metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')),
              nbformat=4, nbformat_minor=5)
    Path(dst).write_text(json.dumps(nb, indent=1) + '\n')

def dump(nb, dst):
    "Write percent script `dst` from notebook `nb`"
    out = []
    for c in json.loads(Path(nb).read_text())['cells']:
        s = ''.join(c['source'])
        if c['cell_type'] == 'markdown': out += ['# %% [markdown]'] + ['# ' + l if l else '#' for l in s.splitlines()]
        else: out += ['# %%', s]
        out.append('')
    Path(dst).write_text('\n'.join(out))

if __name__ == '__main__':
    cmd, a, b = sys.argv[1:4]
    {'build': build, 'dump': dump}[cmd](a, b)
