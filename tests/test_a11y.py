"""Accessibility of the docs site: axe-core (pinned by package.json, installed by `npm ci`) finds no serious or
critical violation on any page, at desktop width and at phone width, and every figure has a text alternative.
The site is the one tests/test_site.py builds (the `site` fixture of conftest.py, shared through `_GROUPS`)."""
import html, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import open_page, require_or_skip

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT/'node_modules'/'axe-core'/'axe.min.js'
WIDTHS = dict(desktop=dict(width=1280, height=900), phone=dict(width=390, height=844))
BLOCKING = ('serious', 'critical')

def site_pages(site):
    "Every HTML page of the built site, as paths relative to it"
    return sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))

@pytest.fixture(scope='module')
def axe_js():
    "axe-core's browser bundle; `npm ci` installs it (package-lock.json) when it is missing"
    if not AXE.exists() and shutil.which('npm'):
        subprocess.run(['npm', 'ci', '--no-audit', '--no-fund'], cwd=ROOT, capture_output=True, text=True)
    if not AXE.exists(): require_or_skip('axe-core is not installed (npm ci, in the project root, installs it from package-lock.json)')
    return AXE

_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help, n: v.nodes.length,
  target: v.nodes[0].target.join(' '), html: v.nodes[0].html.slice(0, 200)}))"""

def test_axe_finds_no_serious_or_critical_violation(browser, site, site_url, axe_js):
    "Every page at 1280 px and at 390 px: no axe-core violation of impact serious or critical (WCAG 2 A/AA and best practices)"
    bad, scanned = [], 0
    for label, vp in WIDTHS.items():
        ctx = browser.new_context(viewport=vp)
        for page in site_pages(site):
            pg = ctx.new_page()
            open_page(pg, site_url + page)
            pg.add_script_tag(path=str(axe_js))
            for v in pg.evaluate(_RUN):
                if v['impact'] in BLOCKING:
                    bad.append(f"{page} at {vp['width']}px: {v['id']} ({v['impact']}, {v['n']} nodes: {v['help']}); "
                               f"e.g. {v['target']}: {v['html']}")
            scanned += 1
            pg.close()
        ctx.close()
    assert scanned >= 2, 'no page was scanned'
    assert not bad, f'{len(bad)} serious or critical accessibility violations:\n' + '\n'.join(bad)

_re_img = re.compile(r'<img\b[^>]*>')

def test_every_figure_has_a_text_alternative(site):
    "Every <img> of the pages (the figures of the cell outputs) has a non-empty alt: its caption, or a description of it"
    missing, n = [], 0
    for page in site_pages(site):
        t = (site/page).read_text()
        for m in _re_img.finditer(t):
            n += 1
            alt = re.search(r'\balt="([^"]*)"', m.group(0))
            if not alt or not html.unescape(alt.group(1)).strip():
                tag = re.sub(r'data:[^"]{40,}', 'data:...', m.group(0))
                missing.append(f'{page}: {tag[:160]}')
    assert n > 0, 'no figure on the whole site'
    assert not missing, 'figures without a text alternative (alt):\n' + '\n'.join(missing)

def test_figure_alt_is_taken_from_the_caption():
    "The build's `figure_alt`: the caption right after the figure, or the one the next cell displays, first sentence only"
    sys.path.insert(0, str(ROOT/'tools'))
    try: from build_site import figure_alt, FIGURE_ALT, html_text
    finally: sys.path.remove(str(ROOT/'tools'))
    code = '<div class="sourceCode"><pre class="sourceCode python cell-code"><code>{}</code></pre></div>'
    cell = lambda i, src, out: f'<div id="cell-{i}" class="cell">\n{code.format(src)}\n<div class="cell-output cell-output-display">\n{out}\n</div>\n</div>\n'
    img = '<img src="data:image/png;base64,AAAA" class="img-fluid">'
    def alt(t): return figure_alt(t, t.index('<img'))
    # an italic caption right after the cell, maths as the text of its MathML
    math = ('<span class="math inline"><span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>τ</mi></mrow>'
            '<annotation encoding="application/x-tex">\\tau</annotation></semantics></math></span>'
            '<span class="katex-html" aria-hidden="true">τ</span></span></span>')
    t = cell(1, 'plot(x);', img) + f'<p><em>Figure 1. Distances to the truth at {math} along each run. Bottom: the rest.</em></p>'
    assert alt(t) == 'Figure 1. Distances to the truth at τ along each run.'
    # the next cell displays the caption (display(Markdown("*Figure 2. ...*")))
    t = cell(1, 'plot(x);', img) + cell(2, 'display(Markdown(...))', '<p><em>Figure 2. The noise of each batch of the fast run. More.</em></p>')
    assert alt(t) == 'Figure 2. The noise of each batch of the fast run.'
    # no caption: the title the code gives the figure, else the fallback
    t = cell(1, "ax.set_title('a random matrix')", img) + cell(2, 'x = 1', '<pre><code>1</code></pre>')
    assert alt(t) == 'Figure: a random matrix'
    t = cell(1, 'plot(x)', img) + cell(2, 'x = 1', '<pre><code>1</code></pre>')
    assert alt(t) == FIGURE_ALT
    assert html_text('<p>a <span class="katex-html" aria-hidden="true">hidden</span><code>b</code></p>') == 'a b'
