"""The notation page (`nbs/notation.ipynb`) cannot drift from the code: every name in backticks in the code column of its
tables is a name the package has (a public function or class, a parameter of one, an attribute of the object the page
says it is, a metric a training run logs), every call lists parameters the function takes, a bare name is not one that
two modules export (nbdev would link it to only one), and every chapter it cites is a notebook of nbs/ whose page the
link opens."""
import importlib, inspect, json, re
from functools import lru_cache
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT/'nbs'/'notation.ipynb'
HEADER = ('symbol', 'meaning', 'code', 'ch.')   # as written on the page (the last: the chapter, short for phones)
COLUMNS = ('symbol', 'meaning', 'code', 'chapter')   # as the tests name them

def _split_row(line:str)->list[str]:
    "The cells of a Markdown table row, splitting on `|` outside code spans and maths"
    cells, buf, code, maths = [], '', False, False
    body = line.strip()
    body = body[1:] if body.startswith('|') else body
    body = body[:-1] if body.endswith('|') and not body.endswith('\\|') else body
    for i, ch in enumerate(body):
        if ch == '`' and not maths: code = not code
        elif ch == '$' and not code and body[i - 1:i] != '\\': maths = not maths
        if ch == '|' and not code and not maths and body[i - 1:i] != '\\':
            cells.append(buf.strip()); buf = ''
        else: buf += ch
    cells.append(buf.strip())
    return cells

def tables(nb:Path=NB)->list[list[dict]]:
    "Every Markdown table of the notebook, as a list of rows `{column: text}` (the columns named as in `COLUMNS` when the header is `HEADER`)"
    out = []
    for c in json.loads(nb.read_text())['cells']:
        if c['cell_type'] != 'markdown': continue
        lines, rows, header = ''.join(c['source']).splitlines(), None, None
        for i, line in enumerate(lines + ['']):
            if line.strip().startswith('|'):
                cells = _split_row(line)
                if header is None:
                    header = [h.lower() for h in cells]
                    if tuple(header) == HEADER: header = list(COLUMNS)
                elif rows is None:
                    assert all(re.fullmatch(r':?-+:?', x) for x in cells), f'table without a separator row: {header}'
                    rows = []
                else: rows.append(dict(zip(header, cells)))
            elif header is not None:
                if rows: out.append(rows)
                header = rows = None
    return out

def rows():
    return [r for t in tables() for r in t]

# ---------------------------------------------------------------- what a name can resolve to

def _public():
    "{name: [objects]} for every name in the `__all__` of every module of scb_nb"
    from scb_nb._modidx import d
    out = {}
    for mod in d['syms']:
        m = importlib.import_module(mod)
        for n in getattr(m, '__all__', []): out.setdefault(n, []).append(getattr(m, n))
    return out

def _params(obj)->set[str]:
    try: return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError): return set()

@lru_cache(None)
def universe():
    "What the code column may name: public names, the parameters of public callables, the metrics of a (V, A) run"
    import torch
    from scb_nb.data import make_task, sample_batch
    from scb_nb.model import uniform_init
    from scb_nb.train import VA_METRICS, train, SGD, Sampled, Exact
    from scb_nb.icl import icl_task, sample_prompts, prompt_stats
    public = _public()
    params = {p for objs in public.values() for o in objs if callable(o) for p in _params(o)} - {'args', 'kwargs'}
    task = make_task(n_vocab=4, seq_len=6, n_sparse=2)
    V, A = uniform_init(4, 6)
    metrics = {k for m in VA_METRICS for k in m(task, (V, A), (V, A))}
    r = train(task, (V, A), SGD(0.1), Sampled(8), 1, twin=Exact())
    icl = icl_task('setting1')
    p = sample_prompts(icl, 4, seed=0)
    # the objects the page's prose names: chapters 00-08 (the SCB paper), chapters 10-19 (the companion paper)
    objects = {'scb': dict(task=task, batch=sample_batch(task, 4), r=r),
               'companion': dict(task=icl, p=p, st=prompt_stats(p), r=r)}
    return public, params, metrics, objects

_re_item = re.compile(r'(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\((?P<args>[^()]*)\))?(?:\[[^\]]*\])*')

def resolve(item:str, paper:str)->str|None:
    "None if the code name `item` exists in the package, else why not"
    public, params, metrics, objects = universe()
    m = _re_item.fullmatch(item.strip())
    if not m: return 'not a name, a call, an attribute or an index of one'
    path, args = m.group('path').split('.'), m.group('args')
    if len(path) > 1:
        obj = objects[paper].get(path[0])
        if obj is None: return f'{path[0]!r} is none of the objects the page names ({", ".join(objects[paper])})'
        for a in path[1:]:
            if not hasattr(obj, a): return f'{type(obj).__name__} has no attribute {a!r}'
            obj = getattr(obj, a)
        targets = [obj]
    else:
        name = path[0]
        if args is None and len({id(o) for o in public.get(name, [])}) > 1:
            return (f'{name!r} is exported by more than one module and nbdev links it to only one of them: '
                    'write it as a call with its parameters')
        if args is None:
            return None if name in public or name in params or name in metrics else \
                f'{name!r} is no public name, no parameter of a public function and no metric'
        targets = [o for o in public.get(name, []) if callable(o)]
        if not targets: return f'{name!r} is no public function or class'
    if args is None: return None
    want = {a.strip() for a in args.split(',') if a.strip()}
    if not want: return None
    if any(want <= _params(t) for t in targets): return None
    return f'{path[-1]} takes no parameter {", ".join(sorted(want - set().union(*map(_params, targets))))}'

def _paper(chapter_cell:str)->str:
    "Which paper a row belongs to, from the number of the chapter it cites (chapters 10-19: the companion paper)"
    n = re.search(r'\[(\d\d)\]', chapter_cell)
    return 'companion' if n and 10 <= int(n.group(1)) <= 19 else 'scb'

# ---------------------------------------------------------------- the tests

def test_the_page_has_tables_of_symbols():
    ts = tables()
    assert ts, f'{NB.name} has no table'
    for t in ts: assert tuple(t[0]) == COLUMNS, f'a table with the columns {tuple(t[0])}, not {HEADER}'
    rs = rows()
    assert len(rs) >= 50, f'only {len(rs)} symbols'
    empty = [r for r in rs if not r['symbol'] or not r['meaning'] or not r['code'] or not r['chapter']]
    assert not empty, f'rows with an empty cell: {empty}'
    assert {_paper(r['chapter']) for r in rs} == {'scb', 'companion'}, 'the page must cover both papers'

def test_every_code_name_exists():
    bad = []
    for r in rows():
        items = re.findall(r'`([^`]+)`', r['code'])
        if not items and r['code'] not in ('—', '-'): bad.append(f"{r['symbol']}: code cell {r['code']!r} names nothing in backticks")
        for item in items:
            why = resolve(item, _paper(r['chapter']))
            if why: bad.append(f"{r['symbol']}: `{item}`: {why}")
    assert not bad, 'code names on the notation page that the package does not have:\n' + '\n'.join(bad)

def test_resolve_refuses_what_does_not_exist():
    "The check itself: names that do not exist, parameters a function does not take, attributes an object lacks"
    assert resolve('task.Qmat[:, k]', 'scb') is None and resolve('token_cov(mu)', 'scb') is None
    assert resolve('alpha_V', 'scb') is None and resolve('st.yy', 'companion') is None
    assert resolve('predict(V, A, tokens, query)', 'scb') is None and resolve('predict(params, batch)', 'companion') is None
    for item, paper in [('task.Pmat', 'scb'), ('token_cov(sigma)', 'scb'), ('no_such_function(x)', 'scb'),
                        ('n_vocabulary', 'scb'), ('task.P', 'companion'), ('model.V', 'scb'), ('a + b', 'scb'),
                        ('predict', 'scb')]:
        assert resolve(item, paper), f'{item!r} ({paper}) should not resolve'

def test_every_chapter_is_a_notebook_and_its_page():
    "The chapter cell is a link [NN](page.html): NN is the number of one notebook of nbs/, page.html the page nbdev gives it"
    nbs = {}
    for p in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'): nbs.setdefault(p.stem[:2], []).append(p.stem)
    bad = []
    for r in rows():
        links = re.findall(r'\[([^\]]+)\]\(([^)]+)\)', r['chapter'])
        if not links: bad.append(f"{r['symbol']}: chapter {r['chapter']!r} is not a link"); continue
        for text, href in links:
            if len(nbs.get(text, [])) != 1: bad.append(f"{r['symbol']}: {text!r} is the number of no notebook (or of several)"); continue
            page = nbs[text][0].split('_', 1)[1] + '.html'
            if href != page: bad.append(f"{r['symbol']}: chapter {text} links to {href}, its page is {page}")
    assert not bad, '\n'.join(bad)

def test_the_page_exports_nothing():
    "A page, not a chapter: no module, no code (like the index)"
    cells = json.loads(NB.read_text())['cells']
    src = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')
    assert not re.search(r'^#\|\s*(default_exp|export)', src, re.M)
    assert ''.join(cells[0]['source']).startswith('# Notation')

def test_every_chapter_links_the_notation_page():
    "A reader of any chapter is one click from the symbols: its opening cells link the notation page"
    url = 'https://scb-nb.github.io/scb_nb/notation.html'   # the site's address: the build makes it relative
    chapters = [p for p in sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')) if int(p.name[:2]) < 80]   # 80+: reference pages
    missing = []
    for p in chapters:
        nb = json.loads(p.read_text())
        opening = ''.join(''.join(c['source']) for c in nb['cells'][:4] if c['cell_type'] == 'markdown')
        if f']({url})' not in opening: missing.append(p.name)
    assert len(chapters) >= 10 and not missing, f'chapters whose opening does not link the notation page: {missing}'
