"""Build the docs site offline: `.venv/bin/python tools/build_site.py` writes `_docs/`.

The path is nbdev's own, with Quarto swapped for smalldocs, a pure-Python renderer of the same `_quarto.yml`:

1. nbdev prepares the notebooks exactly as `nbdev-docs` does before it calls Quarto: `refresh_quarto_yml`, the
   symbol index (`_modidx.py`), and `proc_nbs` (nbdev's doc processors: `show_doc` API blocks, backticked names
   as links, hidden and exported cells handled) into `_proc/`.
2. A copy of `_proc/` is staged for smalldocs: each page takes the name Quarto gives it (nbdev's `output-file`,
   e.g. `00_data.ipynb` -> `data.html`, the name nbdev's doc links use) and an `order` from its file name, so the
   sidebar keeps chapter order (the index first, then the pages without a number, such as the notation page, then
   the chapters by number); widget outputs, which need a kernel, become a note. Headings are put in order: a
   heading inside a cell's output (a displayed Markdown summary) is nested under the section it appears in, and an
   "API" section heading goes above nbdev's API entries (`show_doc`, level 3) when they would follow the title
   directly. API signatures are made readable (`tidy_signature`): no `:NoneType` guessed from a `None` default,
   functions by name instead of `<function ... at 0x...>`, lines wrapped to the column (`SIGNATURE_WIDTH`). Every page
   ends with links to the previous and the next page of the sidebar (`page-navigation` in `nbs/_quarto.yml`, which
   smalldocs and Quarto both read).
3. `smalldocs render` writes the site (navbar, sidebar, table of contents per page, search with its own copy
   of Fuse.js).
4. The maths is typeset at build time by KaTeX, installed from npm (`package.json`, `npm ci`), through node:
   the pages keep no TeX source and load only a local copy of KaTeX's CSS and fonts. nbdev's absolute doc
   links (`site-url/...`) become relative, so the built site is self-contained and its links can be checked.
   The build fails if any page still asks a CDN for anything.
5. Accessibility (axe-core finds no serious or critical violation, tests/test_a11y.py): every figure gets a text
   alternative from its caption, code blocks that scroll take the keyboard focus (other boxes take it when they
   scroll, by a small local script, which also opens a scaled-down figure at full size), and the landmarks get names.
   The colours (links, navbar, code) are in `nbs/styles.css`.
"""
import argparse, html, json, os, re, shutil, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KATEX_DIR = ROOT/'node_modules'/'katex'

# node program: read [[tex, display], ...] as JSON on stdin, write [[html, error], ...] on stdout
_KATEX_JS = r"""
const katex = require(process.argv[1]);
let buf = '';
process.stdin.on('data', d => buf += d);
process.stdin.on('end', () => {
  const out = JSON.parse(buf).map(([tex, display]) => {
    try { return [katex.renderToString(tex, {displayMode: display, throwOnError: true}), null]; }
    catch (e) { return [katex.renderToString(tex, {displayMode: display, throwOnError: false}), String(e.message)]; }
  });
  process.stdout.write(JSON.stringify(out));
});
"""

def log(*a): print('[build_site]', *a, flush=True)

def ensure_katex():
    "Install KaTeX from npm (pinned by package-lock.json) when `node_modules/katex` is missing"
    if (KATEX_DIR/'package.json').exists(): return
    if not shutil.which('npm'): sys.exit("build_site: npm is needed to install KaTeX (apt-get install nodejs npm)")
    cmd = ['npm', 'ci' if (ROOT/'package-lock.json').exists() else 'install', '--no-audit', '--no-fund']
    log(' '.join(cmd)); subprocess.run(cmd, cwd=ROOT, check=True)

def nbdev_prepare(force=False, skip_file_re=None):
    "nbdev's own preparation of the notebooks for Quarto (what `nbdev-docs` does before `quarto render`)"
    os.chdir(ROOT)
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    kw = dict(skip_file_re=skip_file_re) if skip_file_re else {}
    # A relative path: nbdev skips any file whose path has a part starting with '.', the folders above the project
    # included, so a checkout under a hidden folder (~/.cache/..., ~/.src/...) would otherwise get no pages at all.
    try: cache = proc_nbs(os.path.relpath(cfg.nbs_path, ROOT), n_workers=0, force=force, **kw)
    except Exception as e:
        bad = '\n'.join(f'  {nb} cell {i} uses {", ".join(m)}: {src}' for nb, i, m, src in docs_eval_failures(cfg.nbs_path, skip_file_re))
        hint = ("\nnbdev's docs processing runs every cell that contains an import (with only the import, export and "
                "show_doc cells before it), so such a cell must not use names made elsewhere: put imports in cells of "
                "their own (STYLE.md). Cells that read names those cells do not define:\n" + bad) if bad else ''
        sys.exit(f'build_site: nbdev could not process the notebooks: {e}{hint}')
    return cfg, Path(cache)

_EVAL_DIRS = {'export', 'exports', 'exporti', 'exec_doc'}
_IPY_NAMES = {'display', 'get_ipython', 'show_doc', 'In', 'Out', 'exit', 'quit'}

def _names(tree):
    """(names a cell reads when it runs, names it binds at the top level): function bodies run only when called;
    comprehension scopes are ignored, which errs towards reporting nothing"""
    import ast
    load, bound = set(), set()
    def _now(node):  # the nodes evaluated when the cell runs
        yield node
        fn = (ast.FunctionDef, ast.AsyncFunctionDef)
        kids = ([*node.decorator_list, *node.args.defaults, *node.args.kw_defaults] if isinstance(node, fn)
                else [*node.args.defaults] if isinstance(node, ast.Lambda) else ast.iter_child_nodes(node))
        for k in kids:
            if k is not None: yield from _now(k)
    for n in _now(tree):
        if isinstance(n, ast.Name): (load if isinstance(n.ctx, ast.Load) else bound).add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                if a.name == '*':
                    try: bound |= set(dir(__import__(n.module, fromlist=['*'])))
                    except Exception: bound.add('*')
                else: bound.add(a.asname or a.name.split('.')[0])
        elif isinstance(n, ast.ExceptHandler) and n.name: bound.add(n.name)
    return load, bound

def docs_eval_failures(nbs_path:Path, skip_file_re=None):
    """(notebook, cell index, missing names, first line) for each cell that nbdev's docs processing runs (cells with
    an import, exported cells, show_doc cells) but that reads names only cells it does not run define"""
    import ast, builtins
    out = []
    for nb in sorted(Path(nbs_path).glob('*.ipynb')):
        if skip_file_re and re.search(skip_file_re, nb.name): continue
        known = set(dir(builtins)) | _IPY_NAMES
        for i, c in enumerate(json.loads(nb.read_text())['cells']):
            if c['cell_type'] != 'code': continue
            src = ''.join(c['source'])
            dirs = {l.strip()[2:].split()[0] for l in src.splitlines() if l.strip().startswith('#|') and l.strip()[2:].split()}
            if 'eval:' in dirs and re.search(r'#\|\s*eval:\s*false', src, re.I): continue
            try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
            except SyntaxError: continue
            has_import = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
            has_showdoc = any(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and getattr(s.value.func, 'id', '') == 'show_doc'
                              for s in tree.body)
            if not (dirs & _EVAL_DIRS or has_import or has_showdoc): continue
            load, bound = _names(tree)
            missing = sorted(load - bound - known)
            if missing and '*' not in bound and '*' not in known:
                out.append((nb.name, i, missing, src.strip().splitlines()[0][:80]))
            known |= bound
    return out

_re_front = re.compile(r'^---\n(.*?)\n---', re.S)

def _front(nb):
    "The YAML front matter of an nbdev-processed notebook (its first, raw cell), as a dict"
    import yaml
    c = nb['cells'][0] if nb['cells'] else None
    if not c or c['cell_type'] != 'raw': return None, {}
    m = _re_front.match(''.join(c['source']).strip())
    return c, (yaml.safe_load(m.group(1)) or {}) if m else {}

WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'
WIDGET_NOTE = ('*Interactive widget: it needs a running kernel, so it shows here only as this note. '
               'Open the notebook in JupyterLab to use it.*')

_re_fence = re.compile(r'^ {0,3}(`{3,}|~{3,})')
_re_atx = re.compile(r'^( {0,3})(#{1,6})(?=[ \t]|$)')

def _md_headings(md:str):
    "(line number, level) of every ATX heading of the Markdown `md`, code blocks left out"
    out, fence = [], None
    for i, line in enumerate(md.split('\n')):
        f = _re_fence.match(line)
        if f:
            if fence is None: fence = f.group(1)
            elif f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence) and not line.strip()[len(f.group(1)):].strip(): fence = None
            continue
        m = None if fence else _re_atx.match(line)
        if m: out.append((i, len(m.group(2))))
    return out

def _shift_headings(md:str, by:int)->str:
    "`md` with every heading `by` levels deeper (negative: higher), kept within h1..h6"
    lines = md.split('\n')
    for i, lvl in _md_headings(md):
        m = _re_atx.match(lines[i])
        lines[i] = m.group(1) + '#' * min(6, max(1, lvl + by)) + lines[i][m.end():]
    return '\n'.join(lines)

_re_hidden = re.compile(r'^\s*#\|\s*(output|include)\s*:\s*false', re.M)
_re_show_doc = re.compile(r'^\s*show_doc\(', re.M)

def order_headings(nb:dict)->dict:
    """Put the headings of a page (an nbdev-processed notebook, its title the one h1) in order, so that no level is
    skipped: a heading in a cell's Markdown output nests under the section the cell is in (a displayed summary's
    `# ...` is not a second title), and nbdev's API entries (`show_doc`, `###`) right under the title get an "API"
    section above them. Headings of Markdown cells are the notebook's own and are left as written."""
    level, cells = 1, []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            hs = _md_headings(src)
            if hs: level = hs[-1][1]
        elif c['cell_type'] == 'code' and not _re_hidden.search(src):
            show_doc = bool(_re_show_doc.search(src))
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md is None: continue
                md = md if isinstance(md, str) else ''.join(md)
                hs = _md_headings(md)
                if not hs: continue
                top = min(l for _, l in hs)
                if show_doc and top > level + 1:
                    cells.append(dict(cell_type='markdown', id=f'api-heading-{len(cells)}', metadata={}, source=['#' * (level + 1) + ' API']))
                    level += 1
                    md = re.sub(r'\A\s*---[ \t]*\n', '', md)   # the entry's rule would sit right under the new heading's
                    o['data']['text/markdown'] = md
                by = level + 1 - top if (not show_doc or top > level + 1) else 0
                if by:
                    md = _shift_headings(md, by)
                    o['data']['text/markdown'] = md
                level = min(6, max(1, hs[-1][1] + by))
        cells.append(c)
    nb['cells'] = cells
    return nb

_re_sig_block = re.compile(r'```python\n(.*?)\n```', re.S)
_re_nonetype = re.compile(r'(\w+):NoneType=None')
_re_func_repr = re.compile(r'<function ([\w.]+) at 0x[0-9a-f]+>')
SIGNATURE_WIDTH = 68   # monospace characters that fit, with room to spare, in a code block at the docs column width (1280 px window)

def _split_top(code:str, sep=',')->list:
    "`code` split at the separators that are outside brackets and strings, each piece keeping its separator"
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(code):
        if quote:
            if ch == quote and code[i-1] != '\\': quote = None
        elif ch in '\'"': quote = ch
        elif ch in '([{': depth += 1
        elif ch in ')]}': depth -= 1
        elif ch == sep and depth == 0: parts.append(code[start:i+1]); start = i + 1
    if code[start:].strip(): parts.append(code[start:])
    return [p.strip() for p in parts]

def _comment_at(line:str)->int:
    "Index of the `#` that starts `line`'s comment (outside strings), or -1"
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and line[i-1] != '\\': quote = None
        elif ch in '\'"': quote = ch
        elif ch == '#': return i
    return -1

def _wrap_line(line:str, width:int)->list:
    "One signature line as lines of at most `width` characters where it can be: parameters, then the comment"
    if len(line) <= width: return [line]
    indent = line[:len(line) - len(line.lstrip())]
    at = _comment_at(line)
    code, comment = (line, '') if at < 0 else (line[:at].rstrip(), line[at+1:].strip())
    rows, cur = [], indent
    for p in _split_top(code.strip()):
        if cur.strip() and len(cur) + 1 + len(p) > width: rows.append(cur); cur = indent
        cur = cur + (' ' if cur.strip() else '') + p
        while len(cur) > width and ', ' in cur[len(indent):width]:   # one parameter too long: break inside its brackets
            cut = cur.rindex(', ', len(indent), width) + 1
            rows.append(cur[:cut]); cur = indent + ' ' * 4 + cur[cut:].lstrip()
    rows.append(cur)
    if comment:
        last = rows.pop()
        col = len(last) + 1
        if width - col - 2 < 24: rows.append(last); last, col = indent + ' ' * 4, len(indent) + 4
        body = textwrap.wrap(comment, max(24, width - col - 2), break_on_hyphens=False) or ['']
        rows.append((last + ' ' if last.strip() else last) + '# ' + body[0])
        rows += [' ' * col + '# ' + b for b in body[1:]]
    return rows

def tidy_signature(code:str, width:int=SIGNATURE_WIDTH)->str:
    """A `show_doc` signature as a reader wants it: no `:NoneType` that nbdev infers from a `None` default, functions
    by name rather than `<function ... at 0x...>`, and lines wrapped to `width` (parameters at top-level commas,
    docments comments on aligned continuation lines)"""
    code = _re_func_repr.sub(r'\1', _re_nonetype.sub(r'\1=None', code))
    if not re.match(r'(async )?(def|class) ', code): return code
    return '\n'.join(r for line in code.split('\n') for r in _wrap_line(line, width))

def tidy_api(nb:dict)->dict:
    "Every `show_doc` signature of a page through `tidy_signature`"
    for c in nb['cells']:
        if c['cell_type'] != 'code' or not _re_show_doc.search(''.join(c['source'])): continue
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is None: continue
            md = md if isinstance(md, str) else ''.join(md)
            o['data']['text/markdown'] = _re_sig_block.sub(lambda m: f"```python\n{tidy_signature(m.group(1))}\n```", md)
    return nb

def stage(cache:Path, dst:Path):
    "Copy nbdev's `_proc` to `dst`, naming each page as Quarto would and ordering the sidebar by chapter"
    import yaml
    pages = []
    shutil.copytree(cache, dst, ignore=shutil.ignore_patterns('_docs', '.*'))
    # the index, then the pages without a chapter number (the notation page), then the chapters by number
    nbs = sorted(dst.glob('*.ipynb'), key=lambda p: (p.stem != 'index', p.name[:1].isdigit(), p.name))
    for i, p in enumerate(nbs):
        nb = json.loads(p.read_text())
        cell, fm = _front(nb)
        fm.setdefault('order', i)
        out = fm.pop('output-file', None)
        for c in nb['cells']:
            for o in c.get('outputs', []):
                if WIDGET_MIME in o.get('data', {}): o['data'] = {'text/markdown': WIDGET_NOTE}
        order_headings(tidy_api(nb))
        src = '---\n' + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True) + '---\n'
        if cell is None: nb['cells'].insert(0, dict(cell_type='raw', metadata={}, source=src))
        else: cell['source'] = src
        p.unlink()
        name = (Path(out).stem if out else p.stem) + '.ipynb'
        (dst/name).write_text(json.dumps(nb))
        pages.append(dict(notebook=p.name, page=Path(name).stem + '.html', title=fm.get('title', p.stem)))
    return pages

def render(stage_dir:Path, strict=False):
    "Run smalldocs on the staged project; return its output folder"
    cmd = [sys.executable, '-m', 'smalldocs.cli', 'render', str(stage_dir), '--quiet']
    r = subprocess.run(cmd, capture_output=True, text=True)
    # keys that only Quarto reads (formats we do not build here, keep-md, the maths method we replace) are expected
    expected = ('unknown key format-links', 'format commonmark is not built', 'keep-md is ignored',
                'html-math-method is ignored', 'output-file is not read')
    warns = [l for l in (r.stdout + r.stderr).splitlines() if l.strip() and not any(e in l for e in expected)]
    for w in warns: log('smalldocs:', w)
    if r.returncode: sys.exit(f"build_site: smalldocs failed ({r.returncode})")
    if strict and any('warning' in w for w in warns): sys.exit("build_site: smalldocs warnings (see above)")
    import yaml
    proj = {}
    for f in ('_quarto.yml', 'nbdev.yml'):
        if (stage_dir/f).exists(): proj.update((yaml.safe_load((stage_dir/f).read_text()) or {}).get('project', {}))
    return stage_dir/proj.get('output-dir', '_site')

_re_math = re.compile(r'<span class="math (inline|display)">\\[(\[](.*?)\\[)\]]</span>', re.S)
_re_katex_head = re.compile(r'\s*<(?:link|script)[^>]*cdn\.jsdelivr\.net/npm/katex[^>]*>(?:</script>)?')

def typeset_maths(site:Path):
    "Replace every TeX span by KaTeX's HTML, rendered once by node; ship KaTeX's CSS and fonts in `site_libs/katex`"
    pages = sorted(site.rglob('*.html'))
    found = {}
    for p in pages:
        for m in _re_math.finditer(p.read_text()): found[(html.unescape(m.group(2)), m.group(1) == 'display')] = None
    keys = list(found)
    if keys:
        r = subprocess.run(['node', '-e', _KATEX_JS, str(KATEX_DIR)], input=json.dumps(keys), capture_output=True,
                           text=True, check=True)
        res = json.loads(r.stdout)
        for k, (h, err) in zip(keys, res):
            found[k] = h
            if err: log(f'KaTeX error in ${k[0]}$: {err}')
    css = f'<link rel="stylesheet" href="{{off}}site_libs/katex/katex.min.css">'
    for p in pages:
        t = p.read_text()
        if '<span class="math' not in t and 'katex' not in t: continue
        off = '../' * (len(p.relative_to(site).parts) - 1)
        t = _re_math.sub(lambda m: f'<span class="math {m.group(1)}">{found[(html.unescape(m.group(2)), m.group(1) == "display")]}</span>', t)
        t = _re_katex_head.sub('', t)
        if 'class="katex' in t: t = t.replace('</head>', css.format(off=off) + '\n</head>', 1)
        p.write_text(t)
    kd = site/'site_libs'/'katex'
    kd.mkdir(parents=True, exist_ok=True)
    shutil.copy2(KATEX_DIR/'dist'/'katex.min.css', kd/'katex.min.css')
    shutil.copy2(KATEX_DIR/'LICENSE', kd/'LICENSE')
    shutil.copytree(KATEX_DIR/'dist'/'fonts', kd/'fonts', dirs_exist_ok=True)
    return len(keys)

def localise_links(site:Path, site_url:str):
    "nbdev links API names to the published site (`site_url/page.html#name`): point them at this build instead"
    base = site_url.rstrip('/') + '/'
    n = 0
    for p in sorted(site.rglob('*.html')):
        t = p.read_text()
        if base not in t: continue
        off = '../' * (len(p.relative_to(site).parts) - 1)
        t, k = re.subn(r'href="' + re.escape(base) + r'([^"]*)"', lambda m: f'href="{off}{m.group(1) or "index.html"}"', t)
        n += k
        p.write_text(t)
    return n

# ---------------------------------------------------------------- accessibility (axe-core, tests/test_a11y.py)

# The page's script (site_libs/sd-a11y.js): a box that scrolls sideways at the current width (a wide table, a long
# formula, a wide output) takes the keyboard focus, so that it can be scrolled with the arrow keys (code blocks have
# tabindex="0" in the HTML already); and a figure drawn narrower than its pixels opens at full size in a <dialog>.
_A11Y_JS = r"""(() => {
  const BOXES = 'main :is(.sd-table, .table-responsive, .math.display, .katex-display, .cell-output, .cell-output-display, div.sourceCode)';
  const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';
  const scrolls = e => {
    const s = getComputedStyle(e);
    return (/auto|scroll/.test(s.overflowX) && e.scrollWidth > e.clientWidth + 1) ||
           (/auto|scroll/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1);
  };
  function mark() {
    for (const e of document.querySelectorAll(BOXES)) {
      const ours = e.hasAttribute('data-sd-scroll');
      if (e.hasAttribute('tabindex') && !ours) continue;
      if (scrolls(e) && !e.querySelector(FOCUSABLE)) { if (!ours) { e.tabIndex = 0; e.setAttribute('data-sd-scroll', ''); } }
      else if (ours) { e.removeAttribute('tabindex'); e.removeAttribute('data-sd-scroll'); }
    }
    for (const img of document.querySelectorAll('main .cell-output img')) {
      const big = img.complete && img.naturalWidth > img.clientWidth * 1.15 + 4;
      if (big === img.classList.contains('sd-zoomable')) continue;
      img.classList.toggle('sd-zoomable', big);
      if (big) { img.tabIndex = 0; img.setAttribute('role', 'button'); img.title = 'Enlarge the figure'; }
      else { img.removeAttribute('tabindex'); img.removeAttribute('role'); img.removeAttribute('title'); }
    }
  }
  let dlg;
  function zoom(img) {
    if (!dlg) {
      dlg = document.createElement('dialog');
      dlg.className = 'sd-zoom';
      dlg.setAttribute('aria-label', 'Enlarged figure');
      dlg.innerHTML = '<button type="button" class="sd-zoom-close" aria-label="Close the enlarged figure">×</button><img alt="">';
      dlg.addEventListener('click', () => dlg.close());
      document.body.appendChild(dlg);
    }
    const big = dlg.querySelector('img');
    big.src = img.currentSrc || img.src; big.alt = img.alt; big.width = img.naturalWidth;
    dlg.showModal();
  }
  document.addEventListener('click', ev => {
    const img = ev.target.closest && ev.target.closest('img.sd-zoomable');
    if (img) zoom(img);
  });
  document.addEventListener('keydown', ev => {
    if ((ev.key === 'Enter' || ev.key === ' ') && ev.target.matches && ev.target.matches('img.sd-zoomable')) { ev.preventDefault(); zoom(ev.target); }
  });
  let queued = false;
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; mark(); }); } };
  mark();
  addEventListener('load', mark);
  addEventListener('resize', later);
  if (document.fonts) document.fonts.ready.then(mark);
  for (const img of document.querySelectorAll('main .cell-output img')) if (!img.complete) img.addEventListener('load', later);
})();
"""

_VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}

class _Text(__import__('html.parser').parser.HTMLParser):
    "The text a reader sees in an HTML fragment: KaTeX's formulas as the text of their MathML (not their TeX, not their HTML)"
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.stack = [], []   # stack: whether each open element hides its content
    def handle_starttag(self, tag, attrs):
        if tag in _VOID: return
        cls = dict(attrs).get('class') or ''
        self.stack.append(bool(self.stack and self.stack[-1]) or tag in ('annotation', 'script', 'style', 'button')
                          or 'katex-html' in cls.split())
    def handle_endtag(self, tag):
        if tag not in _VOID and self.stack: self.stack.pop()
    def handle_data(self, data):
        if not (self.stack and self.stack[-1]): self.out.append(data)

def html_text(fragment:str)->str:
    p = _Text(); p.feed(fragment); p.close()
    return re.sub(r'\s+', ' ', ''.join(p.out)).strip()

def first_sentence(text:str, short=40, most=220)->str:
    """The first sentence of a caption; the next ones too while it is shorter than `short` characters ("Figure 1." says
    nothing alone), cut at a word near `most` characters"""
    parts = re.split(r'(?<=[.!?])\s+(?=[A-Z0-9(“"‘\u0370-\u03ff])', text.strip())
    out = parts[0]
    for nxt in parts[1:]:
        if len(out) >= short: break
        out += ' ' + nxt
    if len(out) > most: out = out[:most].rsplit(' ', 1)[0].rstrip(',;:') + '…'
    return out

_re_div = re.compile(r'<div\b|</div>')

def _div_end(t:str, start:int)->int:
    "The index just after the </div> that closes the <div> opening at `start`"
    depth = 0
    for m in _re_div.finditer(t, start):
        depth += 1 if m.group(0) == '<div' else -1
        if depth == 0: return m.end()
    return len(t)

_re_em_para = re.compile(r'\s*<p><em>(.*?)</em>\s*</p>', re.S)
_re_para = re.compile(r'\s*<p>(.*?)</p>', re.S)
_re_title_call = re.compile(r"""\b(?:suptitle|set_title|title)\(\s*(?:[rf]?(['"])(.+?)\1)|\btitle\s*=\s*[rf]?(['"])(.+?)\3""")
FIGURE_ALT = 'Figure produced by the code above'

def figure_alt(t:str, pos:int)->str:
    """A text alternative for the figure whose <img> starts at `pos` in page `t`: its caption (an italic paragraph right
    after its output, or the italic Markdown that the next cell displays, as `*Figure 2. ...*`), shortened to its first
    sentence; else the paragraph right after it (the notebooks' captions in plain prose); else the titles the cell's
    code gives the figure's panels; else FIGURE_ALT"""
    cell = t.rfind('<div id="cell-', 0, pos)
    if cell < 0 or _div_end(t, cell) < pos: return FIGURE_ALT
    cell_end = _div_end(t, cell)
    out = t.rfind('<div class="cell-output', cell, pos)
    after = [t[_div_end(t, out):cell_end - len('</div>')]] if out >= 0 else []   # later outputs of the same cell
    rest = t[cell_end:]
    nxt = re.match(r'\s*<div id="cell-', rest)
    if nxt:   # the next cell: what it displays
        o = rest.find('<div class="cell-output', 0, _div_end(rest, nxt.end() - len('<div id="cell-')))
        if o >= 0: after.append(rest[o + len(re.match(r'<div[^>]*>', rest[o:]).group(0)):_div_end(rest, o)])
    else: after.append(rest[:20000])
    for frag in after:
        frag = re.sub(r'\A\s*<div class="cell-output[^>]*>', '', frag)
        m = _re_em_para.match(frag)
        if m and html_text(m.group(1)): return first_sentence(html_text(m.group(1)))
    if not nxt:   # prose right after the figure: the notebooks write captions so too
        m = _re_para.match(rest)
        if m and len(html_text(m.group(1))) > 20: return first_sentence(html_text(m.group(1)))
    code = re.search(r'<pre class="sourceCode[^"]*cell-code"[^>]*>(.*?)</pre>', t[cell:pos], re.S)
    titles = [m.group(2) or m.group(4) for m in _re_title_call.finditer(html_text(code.group(1)))] if code else []
    titles = [s.strip() for s in titles if s.strip() and '{' not in s and '\\' not in s]
    if titles: return first_sentence('Figure: ' + '; '.join(dict.fromkeys(titles)), short=0)
    return FIGURE_ALT

_re_img_no_alt = re.compile(r'<img\b(?![^>]*\balt=)([^>]*?)(\s*/?)>')
_LANDMARKS = [  # (the start of a tag, the attributes it gets): every landmark of a page distinct (axe: landmark-unique)
    ('<nav class="navbar', 'aria-label="Site"'),
    ('<nav class="quarto-secondary-nav"', 'aria-label="Chapters menu and page path"'),
    ('<nav id="quarto-sidebar"', 'aria-label="Chapters"'),
    ('<div id="quarto-margin-sidebar"', 'role="complementary" aria-label="Page contents and actions"'),
    ('<nav id="TOC"', 'aria-labelledby="toc-title"'),
]

def accessibility(site:Path):
    """What axe-core asks of the pages beyond what smalldocs writes: keyboard access to code blocks that scroll
    (tabindex="0"; other boxes get it from site_libs/sd-a11y.js when they scroll at the reader's width), a text
    alternative for every figure (its caption, see `figure_alt`), a name for each navigation landmark, a landmark
    around the table of contents and its actions, and no empty table header cell. Returns the number of figures."""
    js = site/'site_libs'/'sd-a11y.js'
    js.parent.mkdir(parents=True, exist_ok=True); js.write_text(_A11Y_JS)
    n_fig = 0
    for p in sorted(site.rglob('*.html')):
        t = p.read_text()
        off = '../' * (len(p.relative_to(site).parts) - 1)
        t = re.sub(r'<pre\b(?![^>]*\btabindex=)', '<pre tabindex="0"', t)
        def _alt(m):
            nonlocal n_fig
            n_fig += 1
            return f'<img alt="{html.escape(figure_alt(t, m.start()), quote=True)}"{m.group(1)}{m.group(2)}>'
        t = _re_img_no_alt.sub(_alt, t)
        for start, attrs in _LANDMARKS:
            i = t.find(start)
            if i < 0 or ('toc-title' in attrs and 'id="toc-title"' not in t): continue
            j = t.index('>', i)
            if not re.search(r'\baria-label(ledby)?=', t[i:j]): t = t[:j] + ' ' + attrs + t[j:]
        t = re.sub(r'<th([^>]*)>(\s*)</th>', r'<td\1>\2</td>', t)   # an empty header cell (a table's corner) is a data cell
        # matplotlib's HTML animations (`to_jshtml`): their frame slider has no label
        t = re.sub(r'<input\b(?![^>]*\baria-label)(?=[^>]*\bclass="anim-slider")', '<input aria-label="Animation frame"', t)
        if '</head>' in t: t = t.replace('</head>', f'<script src="{off}site_libs/sd-a11y.js" defer></script>\n</head>', 1)
        p.write_text(t)
    return n_fig

_re_css_import = re.compile(r"""@import url\(["']?https?://[^)]*\);?""")

def drop_web_fonts(site:Path):
    "The Bootswatch theme @imports Google Fonts: drop it, the theme falls back to the system's sans-serif"
    for p in site.rglob('*.css'):
        t = p.read_text()
        if _re_css_import.search(t): p.write_text(_re_css_import.sub('', t))

def check_offline(site:Path):
    "Fail when a page or a stylesheet loads anything from another host (CDN scripts, styles, fonts)"
    bad = [f'{p.relative_to(site)}: {m.group(0)[:120]}' for p in sorted(site.rglob('*.css'))
           for m in re.finditer(r'(@import|url\()\s*["\']?(https?:)?//[^)"\']*', p.read_text())]
    for p in sorted(site.rglob('*.html')):
        for m in re.finditer(r'<(script|link|img)\b[^>]*\b(?:src|href)="(https?:)?//[^"]*"', p.read_text()):
            if m.group(1) == 'link' and 'stylesheet' not in m.group(0) and 'preload' not in m.group(0): continue
            bad.append(f'{p.relative_to(site)}: {m.group(0)[:120]}')
    if bad: sys.exit('build_site: pages load from other hosts:\n  ' + '\n  '.join(bad))

class Built(type(Path())):
    "The built site's folder; `.pages`: one dict (notebook, page, title) per chapter, in sidebar order"
    pages: list

def build(out:Path=None, force=False, strict=False, skip_file_re=None):
    "Build the site into `out` (default: nbdev's `doc_path`, `_docs/`); return its path, with `.pages`"
    t0 = time.time()
    ensure_katex()
    cfg, cache = nbdev_prepare(force=force, skip_file_re=skip_file_re)
    out = Path(out) if out else Path(cfg.doc_path)
    import yaml
    site_url = (yaml.safe_load((cfg.nbs_path/'nbdev.yml').read_text()).get('website') or {}).get('site-url', '')
    with tempfile.TemporaryDirectory(prefix='scb_site_') as tmp:
        st = Path(tmp)/'proj'
        pages = stage(cache, st)
        built = render(st, strict=strict)
        n_math = typeset_maths(built)
        n_links = localise_links(built, site_url) if site_url else 0
        n_fig = accessibility(built)
        drop_web_fonts(built)
        check_offline(built)
        if out.exists(): shutil.rmtree(out)
        shutil.copytree(built, out)
    out = Built(out); out.pages = pages
    log(f'{len(pages)} pages, {n_math} formulas typeset, {n_links} API links made local, {n_fig} figures given a text alternative, in {time.time()-t0:.1f}s -> {out}')
    return out

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', help='output folder (default: _docs)')
    ap.add_argument('--force', action='store_true', help="ignore nbdev's _proc cache and process every notebook again")
    ap.add_argument('--strict', action='store_true', help='fail on any smalldocs warning (broken links, ignored options)')
    ap.add_argument('--skip-file-re', help="leave out the notebooks whose name matches this regex (nbdev's own option)")
    ap.add_argument('--pages-json', help='also write the chapters (notebook, page, title), in sidebar order, to this file')
    a = ap.parse_args()
    out = build(a.out, force=a.force, strict=a.strict, skip_file_re=a.skip_file_re)
    if a.pages_json: Path(a.pages_json).write_text(json.dumps(out.pages, indent=1))
