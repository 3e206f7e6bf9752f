"""The project's shape, as its readers rely on it: one notebook, one module of the same name; modules import only
downwards (utilities, then the chapters in reading order, then the reproduction layers); no module reaches into
another's private helpers; public signatures stay short; and `scb-nb --help` stays light."""
import ast, inspect, importlib, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'scb_nb'

def notebooks():
    "(number, stem, module) for each numbered notebook of nbs/ (recursively) that exports a module"
    out = []
    for nb in sorted((ROOT/'nbs').rglob('[0-9][0-9]*_*.ipynb')):
        if '.ipynb_checkpoints' in nb.parts: continue
        cells = json.loads(nb.read_text())['cells']
        exp = [m.group(1) for c in cells if c['cell_type'] == 'code'
               for m in [re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M)] if m]
        if exp: out.append((int(nb.name[:2]), nb.stem, exp[0]))
    return out

def test_one_notebook_one_module_same_name():
    nbs = notebooks()
    assert nbs, 'no numbered notebooks found'
    bad = [(stem, mod) for _, stem, mod in nbs if stem.split('_', 1)[1] != mod]
    assert not bad, f"notebook stem and module differ: {bad}"
    mods = [m for *_, m in nbs]
    assert len(mods) == len(set(mods)), f"two notebooks export one module: {mods}"
    exported = {p.stem for p in PKG.glob('*.py')} - {'__init__', '_modidx', '__main__'}
    assert exported == set(mods), f"modules without a notebook: {exported - set(mods)}; notebooks without a module: {set(mods) - exported}"

def _rank():
    "Module -> its place in the import order: utilities (9x) first, then chapters by number, then 80-89"
    return {mod: (0, 0) if n >= 90 else (1, n) for n, _, mod in notebooks()} | {'__main__': (2, 0)}

def _imports(path:Path):
    "(module imported from scb_nb, names, line) for every import of the package in `path`, at any depth"
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1: target = mod.split('.')[0] if mod else None
            elif mod.startswith('scb_nb.'): target = mod.split('.')[1]
            elif mod == 'scb_nb': target = None
            else: continue
            names = [a.name for a in node.names]
            if target is None: out += [(n, [], node.lineno) for n in names]   # `from scb_nb import data`
            else: out.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name.split('.')[1], [], node.lineno) for a in node.names if a.name.startswith('scb_nb.')]
    return out

def test_modules_import_only_downwards():
    rank, bad = _rank(), []
    for p in PKG.glob('*.py'):
        if p.stem in ('__init__', '_modidx'): continue
        for target, names, line in _imports(p):
            if target in ('__version__',): continue
            if target not in rank: bad.append(f"{p.name}:{line} imports unknown scb_nb.{target}"); continue
            me, other = rank[p.stem], rank[target]
            if me[0] == 0 and other[0] != 0: bad.append(f"{p.name}:{line}: a utility imports the chapter {target}")
            elif me[0] == 1 and not (other[0] == 0 or other < me): bad.append(f"{p.name}:{line} imports {target}, which comes later")
    assert not bad, '\n'.join(bad)

def test_no_private_helper_imported_across_modules():
    bad = [f"{p.name}:{line} imports {n} from {target}" for p in PKG.glob('*.py') if p.stem != '_modidx'
           for target, names, line in _imports(p) for n in names if n.startswith('_') and target != p.stem]
    assert not bad, '\n'.join(bad)

def _own_params(f):
    "Parameters a caller can name, *args/**kwargs, self and those forwarded with fastcore's `@delegates` left out"
    try: sig = inspect.signature(f)
    except (TypeError, ValueError): return []
    to = getattr(f, '__delwrap__', None)
    forwarded = set(inspect.signature(to).parameters) if to is not None else set()
    return [p for p in sig.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != 'self' and p.name not in forwarded]

def test_short_signatures():
    "No public function, method or class of the package takes more than 10 parameters of its own"
    bad = []
    for p in sorted(PKG.glob('*.py')):
        if p.stem.startswith('_'): continue
        mod = importlib.import_module(f'scb_nb.{p.stem}')
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name)
            if getattr(obj, '__module__', None) != mod.__name__: continue
            fs = [(name, obj)] if not inspect.isclass(obj) else [(name, obj.__init__)] + [
                (f'{name}.{k}', v) for k, v in vars(obj).items() if inspect.isfunction(v) and not k.startswith('_')]
            bad += [f"{p.stem}.{n}: {len(_own_params(f))}" for n, f in fs if len(_own_params(f)) > 10]
    assert not bad, f"more than 10 parameters: {bad}"

def test_help_and_version_import_no_torch():
    "`scb-nb --help` and `--version` stay light: neither torch nor any chapter is imported"
    code = ("import sys, contextlib, io\nfrom scb_nb import cli\n"
            "for a in (['--version'], ['--help']):\n"
            "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): cli.main(a)\n"
            "heavy = sorted(m for m in sys.modules if m == 'torch' or m == 'matplotlib' or m.startswith('scb_nb.') and m != 'scb_nb.cli')\n"
            "print(heavy)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[]', f"imported by --help/--version: {r.stdout}"

def test_slow_cells_skip_unless_asked():
    "Every `#| slow` cell starts with `if run_slow(cost):`, so that Run All in JupyterLab skips it and says what it costs"
    bad = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for i, c in enumerate(json.loads(nb.read_text())['cells']):
            lines = ''.join(c['source']).strip().splitlines() if c['cell_type'] == 'code' else []
            if lines and lines[0].replace(' ', '') == '#|slow' and not re.match(r"if run_slow\(['\"].+['\"]\):$", lines[1] if len(lines) > 1 else ''):
                bad.append(f"{nb.name} cell {i}")
    assert not bad, f"slow cells that would run under Run All (start them with `if run_slow('what, about how long'):`): {bad}"

def _exercise_section(cells):
    "(the numbered items of a chapter's exercise list as (number, text), the code and the markdown cells after its Exercises heading)"
    start = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown'
                  and re.search(r'^#+\s*Exercises', ''.join(c['source']), re.M)), None)
    if start is None: return [], [], []
    rest = cells[start:]
    items = []
    for c in rest:
        if c['cell_type'] != 'markdown': continue
        items = re.findall(r'^(\d+)\.\s+(.*)$', ''.join(c['source']), re.M)
        if items: break
    return ([(int(k), t) for k, t in items], [''.join(c['source']) for c in rest if c['cell_type'] == 'code'],
            [''.join(c['source']).strip() for c in rest if c['cell_type'] == 'markdown'])

def test_exercises_are_marked_and_checked():
    """Every exercise of every chapter has a difficulty mark (★ to ★★★) and a worked solution: a code cell folded on the
    site (`#| code-fold: true`, `#| code-summary: "Solution to exercise k"`, `#| output: false`) that calls a `check_…`
    function; a solution's reasoning in prose sits in a folded <details> block"""
    bad = []
    for n, stem, _ in notebooks():
        if n >= 80: continue
        items, code, prose = _exercise_section(json.loads((ROOT/'nbs'/f'{stem}.ipynb').read_text())['cells'])
        if not items: bad.append(f'{stem}: no numbered exercise list after an Exercises heading'); continue
        for k, text in items:
            if not re.match(r'★{1,3}(?!★)', text): bad.append(f'{stem} exercise {k}: no difficulty mark (★, ★★ or ★★★)')
            sols = [s for s in code if re.search(r'^#\|\s*code-fold:\s*true', s, re.M)
                    and re.search(rf'^#\|\s*code-summary:.*[Ee]xercise {k}\b', s, re.M)]
            if not sols: bad.append(f'{stem} exercise {k}: no folded solution cell (code-summary "Solution to exercise {k}")')
            elif not any(re.search(r'\bcheck_\w+\(', s) for s in sols): bad.append(f'{stem} exercise {k}: its solution calls no check_ function')
            elif not all(re.search(r'^#\|\s*output:\s*false', s, re.M) for s in sols):
                bad.append(f'{stem} exercise {k}: its solution cell shows its output on the site (the verdict gives the answer away): add #| output: false')
        bad += [f'{stem}: a solution written out in the open, not in a <details> block: {t[:60]!r}' for t in prose if t.startswith('**Solution')]
    assert not bad, '\n'.join(bad)
