"""The docs site as a reader meets it: built once by `tools/build_site.py` (nbdev's processing, smalldocs, KaTeX),
served on 127.0.0.1, and opened in Chromium. Every notebook in nbs/ is a page; nothing here names a chapter."""
import importlib, inspect, json, os, re, shutil, subprocess, sys
from pathlib import Path
from urllib.parse import urljoin, urlparse, unquote
import pytest
import yaml
from conftest import open_page

ROOT = Path(__file__).resolve().parents[1]
DESKTOP, PHONE = dict(width=1366, height=900), dict(width=390, height=844)

def chapters(site):
    "(notebook, page, title) for every notebook the build found in nbs/, in nbdev's sidebar order"
    return [(p['notebook'], p['page'], p['title']) for p in site.pages]

def exported(site=None):
    """{qualified name: 'page.html#anchor'} for every function and class in the `__all__` of every module of scb_nb
    (with `site`: only modules whose notebook made it into that build)"""
    from scb_nb._modidx import d
    pages = {p['page'] for p in site.pages} if site is not None else None
    out = {}
    for mod, syms in d['syms'].items():
        try: m = importlib.import_module(mod)
        except ImportError as e: out[f'{mod} (the module does not import: {e})'] = None; continue
        for name in getattr(m, '__all__', []):
            if not (inspect.isfunction(getattr(m, name, None)) or inspect.isclass(getattr(m, name, None))): continue
            loc = syms.get(f'{mod}.{name}', (None,))[0]
            if pages is not None and loc and loc.partition('#')[0] not in pages and os.environ.get('SCB_SITE_SKIP_RE'): continue
            out[f'{mod}.{name}'] = loc
    return out

# ---------------------------------------------------------------- the built files (no browser)

def test_docs_processing_can_run_the_cells_it_runs():
    """nbdev's docs processing runs every cell holding an import (and exported and show_doc cells), and only those:
    such a cell must not read a name that only a cell it skips defines (the fix: imports in cells of their own)"""
    import sys
    sys.path.insert(0, str(ROOT/'tools'))
    try: from build_site import docs_eval_failures
    finally: sys.path.remove(str(ROOT/'tools'))
    bad = docs_eval_failures(ROOT/'nbs', os.environ.get('SCB_SITE_SKIP_RE'))
    assert not bad, "cells that the docs build runs alone but that use names defined elsewhere:\n" + \
        '\n'.join(f'{nb} cell {i} uses {", ".join(m)}: {line}' for nb, i, m, line in bad)

def test_every_notebook_is_a_page_in_chapter_order(site):
    chs = chapters(site)
    for nb, page, _ in chs: assert (site/page).is_file(), f'{nb} has no page {page}'
    html = (site/'index.html').read_text()
    nav = re.search(r'<nav id="quarto-sidebar".*?</nav>', html, re.S)
    assert nav, 'index.html has no sidebar'
    hrefs = re.findall(r'<a href="([^"]+)" class="sidebar-item-text sidebar-link', nav.group(0))
    assert hrefs == [page for _, page, _ in chs], f'sidebar order {hrefs} is not the chapter order'

def test_every_page_has_toc_search_and_no_cdn(site):
    for _, page, _ in chapters(site):
        html = (site/page).read_text()
        if html.count('<h2') > 1: assert 'id="TOC"' in html, f'{page} has headings but no table of contents'
        assert 'smalldocs-search' in html, f'{page} has no search box'
        assert not re.search(r'<(script|link)\b[^>]*(src|href)="(https?:)?//', html), f'{page} loads from another host'
        assert 'cdn.jsdelivr' not in html
    assert (site/'search.json').is_file() and (site/'site_libs/katex/katex.min.css').is_file()

def test_every_exported_name_has_an_api_entry(site):
    missing = []
    for name, loc in exported(site).items():
        if not loc: missing.append(name if 'does not import' in name else f'{name} (not in _modidx)'); continue
        page, _, anchor = loc.partition('#')
        p = site/page
        if not p.is_file() or not re.search(rf'<h[2-4] id="{re.escape(anchor)}"[^>]*>', p.read_text()):
            missing.append(f'{name} (expected #{anchor} in {page})')
    assert not missing, 'no API block (show_doc) on the site for: ' + ', '.join(missing)

def api_signatures(html:str)->list:
    "The text of every API signature of a page (the code blocks inside nbdev's `show_doc` outputs)"
    import html as h
    outs = re.findall(r'<div class="cell-output[^"]*cell-output-markdown">(.*?)</div>\s*</div>', html, re.S)
    return [h.unescape(re.sub(r'<[^>]+>', '', c)) for o in outs for c in re.findall(r'<pre[^>]*>(.*?)</pre>', o, re.S)]

def test_api_signatures_are_readable(site):
    "No `:NoneType` guessed from a None default, no `<function ... at 0x...>`, no line wider than the column's code box"
    sys.path.insert(0, str(ROOT/'tools'))
    from build_site import SIGNATURE_WIDTH
    bad, n = [], 0
    for _, page, _ in chapters(site):
        for sig in api_signatures((site/page).read_text()):
            n += 1
            name = sig.split('(')[0]
            if 'NoneType' in sig: bad.append(f'{page} {name}: NoneType')
            if re.search(r'<function \S+ at 0x', sig): bad.append(f'{page} {name}: a function repr')
            bad += [f'{page} {name}: a line of {len(l)} characters' for l in sig.split('\n') if len(l) > SIGNATURE_WIDTH + 8]
    assert n > 50, f'only {n} API signatures found: has the page layout changed?'
    assert not bad, 'unreadable API signatures:\n' + '\n'.join(bad)

def test_api_names_in_prose_are_links(site):
    "nbdev turns backticked exported names into links; the build makes them point into this site"
    n = sum(len(re.findall(r'<a href="[^"#:]*\.html#[^"]+"><code>', (site/page).read_text())) for _, page, _ in chapters(site))
    assert n > 0, 'no backticked name became a link to its API entry'

# ---------------------------------------------------------------- in the browser

_JS_STATE = r"""() => {
  const body = document.querySelector('main') || document.body;
  const clone = body.cloneNode(true);
  clone.querySelectorAll('pre, code, .katex, script, style').forEach(e => e.remove());
  return {
    text: clone.innerText,
    katexErrors: [...document.querySelectorAll('.katex-error')].map(e => e.getAttribute('title') || e.textContent),
    imgs: [...document.querySelectorAll('main img, .cell-output img')].map(i => ({src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    // API signatures (the code blocks of show_doc outputs) that need a sideways scroll to be read
    apiOverflow: [...document.querySelectorAll('.cell-output-markdown pre')].filter(p => p.scrollWidth > p.clientWidth)
                   .map(p => p.textContent.split('(')[0].slice(0, 40)),
    // what a reader cannot see whole: a table wider than the screen, or a figure or formula that runs past the
    // screen without a box of its own to scroll in (code blocks scroll by design)
    wide: [...document.querySelectorAll('main table, main img, main svg, main .katex-display > .katex')].filter(e => {
      if (e.closest('pre') !== null || e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if (o === 'auto' || o === 'scroll') return a.getBoundingClientRect().right > window.innerWidth + 1;
      }
      return true;
    }).map(e => `${e.tagName}.${e.className.baseVal ?? e.className} ${Math.round(e.getBoundingClientRect().width)}px: ${(e.innerText || '').slice(0, 40)}`)
      .slice(0, 5),
    // formulas a screen reader can read: KaTeX's MathML beside its HTML
    katex: document.querySelectorAll('.katex').length,
    mathml: document.querySelectorAll('.katex .katex-mathml math').length,
    // a table column squeezed so narrow that its prose stands one word a line
    squeezed: [...document.querySelectorAll('main td')].filter(td => td.innerText.length > 60 && td.getBoundingClientRect().width < 90)
      .map(td => td.innerText.slice(0, 40)).slice(0, 5),
  };
}"""

@pytest.fixture(scope='module')
def visited(browser, site, site_url, shots):
    "Open every page at desktop and at phone width once: what the checks below need, and screenshots"
    res = {}
    for label, vp in (('desktop', DESKTOP), ('phone', PHONE)):
        ctx = browser.new_context(viewport=vp)
        for _, page, _ in chapters(site):
            pg = ctx.new_page()
            errors, failed = [], []
            pg.on('console', lambda m, e=errors: m.type == 'error' and e.append(m.text))
            pg.on('pageerror', lambda exc, e=errors: e.append(str(exc)))
            pg.on('requestfailed', lambda r, f=failed: f.append(r.url[:120]))
            pg.on('response', lambda r, f=failed: r.status >= 400 and f.append(f'{r.status} {r.url[:120]}'))
            open_page(pg, site_url + page)
            state = pg.evaluate(_JS_STATE)
            pg.screenshot(path=str(shots/f'site_{label}_{page}.png'), full_page=True)
            res[label, page] = dict(state, errors=errors, failed=failed)
            pg.close()
        ctx.close()
    return res

def test_api_signatures_fit_the_column(visited):
    "At desktop width every API signature is read without scrolling sideways"
    wide = {page: v['apiOverflow'] for (label, page), v in visited.items() if label == 'desktop' and v['apiOverflow']}
    assert not wide, f'API signatures wider than their box: {wide}'

def test_pages_load_without_console_errors(visited):
    bad = {k: (v['errors'], v['failed']) for k, v in visited.items() if v['errors'] or v['failed']}
    assert not bad, f'console errors or failed requests: {bad}'

def test_no_broken_internal_link(visited, site, site_url):
    ids = {page: set(v['ids']) for (label, page), v in visited.items() if label == 'desktop'}
    broken = set()
    for (label, page), v in visited.items():
        if label != 'desktop': continue
        for href in v['links']:
            if not href.startswith(site_url): continue
            u = urlparse(href)
            rel = unquote(u.path[len(urlparse(site_url).path):]) or 'index.html'
            if rel.endswith('/'): rel += 'index.html'
            if not (site/rel).is_file(): broken.add(f'{page} -> {rel} (no such file)')
            elif u.fragment and rel in ids and unquote(u.fragment) not in ids[rel]:
                broken.add(f'{page} -> {rel}#{u.fragment} (no such anchor)')
    assert not broken, 'broken internal links:\n' + '\n'.join(sorted(broken))

def test_maths_is_typeset(visited, site):
    raw = {}
    for (label, page), v in visited.items():
        if label != 'desktop': continue
        left = [s for s in ('$$', '\\(', '\\)', '\\[', '\\begin{') if s in v['text']]
        left += re.findall(r'\$[^$\s][^$\n]{0,80}\$', v['text'])   # inline TeX the renderer did not see as maths
        if left or v['katexErrors']: raw[page] = (left, v['katexErrors'][:3])
    assert not raw, f'maths left as TeX source, or KaTeX errors: {raw}'
    assert any('class="katex' in (site/page).read_text() for _, page, _ in chapters(site)), 'no page has any typeset maths'

def test_maths_is_readable_by_screen_readers(visited):
    "KaTeX writes MathML beside its HTML (its default output), so assistive technology can read every formula"
    bad = {page: (v['katex'], v['mathml']) for (label, page), v in visited.items() if label == 'desktop' and v['mathml'] < v['katex']}
    assert not bad, f'formulas without MathML (page: (formulas, with MathML)): {bad}'

def test_every_figure_loads(visited):
    bad = {k: [i['src'] for i in v['imgs'] if not i['ok']] for k, v in visited.items()}
    bad = {k: b for k, b in bad.items() if b}
    assert not bad, f'figures that did not load (natural width 0): {bad}'
    assert sum(len(v['imgs']) for v in visited.values()) > 0, 'no figure on the whole site'

def test_phone_width_has_no_sideways_scrolling(visited):
    """At 390 px no page scrolls sideways; no figure or formula is cut off (wide ones scroll in their own box, as code
    and wide tables do); no table squeezes its prose into a one-word column"""
    bad = {page: (v['overflow'], v['wide'], v['squeezed']) for (label, page), v in visited.items()
           if label == 'phone' and (v['overflow'] > 1 or v['wide'] or v['squeezed'])}
    assert not bad, f'at phone width (page px too wide, elements cut off, squeezed table cells): {bad}'

def test_search_finds_the_l1_prox(browser, site, site_url, shots):
    "The ℓ1 prox, `soft_threshold` (in scb_nb.train or whichever module exports it), is found by name"
    from scb_nb._modidx import d
    locs = [loc for syms in d['syms'].values() for name, (loc, _) in syms.items() if name.endswith('.soft_threshold')]
    if not locs: pytest.skip('soft_threshold (the ℓ1 prox) is not in the library yet')
    if locs[0].partition('#')[0] not in {p['page'] for p in site.pages}: pytest.skip(f'its page {locs[0]} was left out of this build')
    _search(browser, site_url, shots, 'soft_threshold', locs[0].partition('#')[2])

def test_search_finds_an_api_entry(browser, site_url, shots):
    "Search works on whatever the library exports now (the first exported function of the data model)"
    mod = importlib.import_module('scb_nb.data')
    name = next(n for n in mod.__all__ if callable(getattr(mod, n)) and not isinstance(getattr(mod, n), type))
    _search(browser, site_url, shots, name, name)

def _search(browser, site_url, shots, query, anchor):
    pg = browser.new_page(viewport=DESKTOP)
    open_page(pg, site_url + 'index.html')
    box = pg.locator('.smalldocs-search input[type=search]').first
    box.fill(query)
    pg.wait_for_selector('.smalldocs-search-results .search-result', timeout=10_000)
    hrefs = pg.eval_on_selector_all('.smalldocs-search-results .search-result', 'as => as.map(a => a.href)')
    pg.screenshot(path=str(shots/f'site_search_{query}.png'))
    assert any(h.endswith('#' + anchor) for h in hrefs[:5]), f'search for {query!r} did not put its API entry in the top 5: {hrefs[:5]}'
    open_page(pg, hrefs[[h.endswith('#' + anchor) for h in hrefs].index(True)])
    assert pg.locator(f'[id="{anchor}"]').count() == 1
    pg.close()

def test_site_builds_from_a_checkout_under_a_hidden_folder(site, tmp_path):
    "A clone in ~/.cache/... or ~/.src/... gets the same pages (nbdev skips paths with a part starting with '.')"
    proj = tmp_path/'.hidden'/'proj'
    shutil.copytree(ROOT, proj, symlinks=True, ignore=shutil.ignore_patterns('.venv', '.git', '_docs', '_proc', '_site',
                                                                          '__pycache__', 'node_modules', 'scb_out'))
    if (ROOT/'node_modules').exists(): (proj/'node_modules').symlink_to(ROOT/'node_modules')
    out = tmp_path/'site'
    r = subprocess.run([sys.executable, 'tools/build_site.py', '--out', str(out), '--pages-json', str(tmp_path/'pages.json')],
                       cwd=proj, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    pages = json.loads((tmp_path/'pages.json').read_text())
    assert [p['page'] for p in pages] == [p['page'] for p in site.pages]
    assert all((out/p['page']).exists() for p in pages)

# ---------------------------------------------------------------- reading order: page links and headings

def test_every_page_links_to_the_previous_and_the_next(site):
    "At the bottom of every page: the previous and the next page in sidebar order (none before the first, none after the last)"
    chs, bad = chapters(site), []
    for i, (_, page, _) in enumerate(chs):
        html = (site/page).read_text()
        nav = re.search(r'<nav class="page-navigation">(.*?)</nav>', html, re.S)
        if not nav: bad.append(f'{page}: no previous/next links'); continue
        got = dict(re.findall(r'class="nav-page nav-page-(previous|next)"><a href="([^"]+)"', nav.group(1)))
        want = {k: chs[j][1] for k, j in (('previous', i - 1), ('next', i + 1)) if 0 <= j < len(chs)}
        if got != want: bad.append(f'{page}: links {got}, expected {want}')
        for side, href in got.items():
            if not (site/page).parent.joinpath(href).is_file(): bad.append(f'{page}: its {side} link {href} is no page')
        if html.rfind('page-navigation') < html.rfind('id="quarto-document-content"'): bad.append(f'{page}: the links are not at the bottom')
    assert not bad, '\n'.join(bad)

class _Headings(__import__('html.parser').parser.HTMLParser):
    "The headings of a page, in document order: (level, inside <main>, text)"
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.main, self.open = [], 0, None
    def handle_starttag(self, tag, attrs):
        if tag == 'main': self.main += 1
        if re.fullmatch(r'h[1-6]', tag): self.open = [int(tag[1]), self.main > 0, '']
    def handle_endtag(self, tag):
        if tag == 'main': self.main -= 1
        if self.open and re.fullmatch(r'h[1-6]', tag): self.out.append(tuple(self.open)); self.open = None
    def handle_data(self, data):
        if self.open: self.open[2] += data

def headings(html:str)->list[tuple[int, bool, str]]:
    p = _Headings(); p.feed(html)
    return p.out

def test_headings_are_in_order(site):
    """Every page has one h1 (its title), which opens its content, and no heading skips a level (h1 -> h3 without an
    h2), API entries and headings inside cell outputs (a displayed Markdown summary) included"""
    bad = []
    for _, page, _ in chapters(site):
        hs = headings((site/page).read_text())
        h1 = [t.strip() for l, _, t in hs if l == 1]
        if len(h1) != 1: bad.append(f'{page}: {len(h1)} h1 headings {h1}')
        main = [h for h in hs if h[1]]
        if not main or main[0][0] != 1: bad.append(f'{page}: its content does not open with the h1 (first: {main[:1]})')
        for a, b in zip(hs, hs[1:]):
            if b[0] > a[0] + 1: bad.append(f'{page}: h{a[0]} "{a[2].strip()[:40]}" is followed by h{b[0]} "{b[2].strip()[:40]}"')
    assert not bad, 'headings out of order:\n' + '\n'.join(bad)
