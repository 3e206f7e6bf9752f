"""Shared fixtures for the tests that use the project as a reader does: the docs site in a browser, JupyterLab in a
browser, the wheel in a fresh venv. The browser is Debian's `chromium` (installed by `.ci/run`), driven by
Playwright's Python client; tests that need it skip, saying why, where it is missing.

Under `SCB_NB_REQUIRE_BROWSER=1` (set by `.ci/run`) a missing browser, node or renderer fails those tests instead of
skipping them: CI must not pass by testing nothing. Screenshots go to a temporary folder, or to `$SCB_SHOTS` when it
is set (to look at them afterwards).
`$SCB_SITE_SKIP_RE` (a regex on notebook names) leaves notebooks out of the site, to work on the site while one is broken."""
import functools, http.server, json, os, shutil, subprocess, sys, threading
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Under pytest-xdist every core already runs a worker: give each worker's torch (and the processes it starts) its share
# of the cores instead of all of them, so that the workers do not oversubscribe the machine. Set before torch is imported.
if os.environ.get('PYTEST_XDIST_WORKER_COUNT'):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))
    for _v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(_v, _share)
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']

def chromium_path():
    "Debian's chromium, or None"
    for c in (os.environ.get('SCB_CHROMIUM'), shutil.which('chromium'), '/usr/bin/chromium'):
        if c and Path(c).exists(): return c

def require_or_skip(why:str):
    "Skip with `why`, or fail under `SCB_NB_REQUIRE_BROWSER=1`"
    if os.environ.get('SCB_NB_REQUIRE_BROWSER') == '1': pytest.fail(f"SCB_NB_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)

def browser_missing():
    "Why the browser tests cannot run here, or None when they can"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return "Python Playwright is not installed (it is in the dev extra: pip install -e '.[dev]')"
    if not chromium_path(): return "no chromium browser (.ci/run installs Debian's: apt-get install chromium)"

@pytest.fixture(scope='session')
def shots(tmp_path_factory):
    "Folder for screenshots: $SCB_SHOTS when set, else a temporary folder"
    d = Path(os.environ['SCB_SHOTS']) if os.environ.get('SCB_SHOTS') else tmp_path_factory.mktemp('shots')
    d.mkdir(parents=True, exist_ok=True)
    return d

@pytest.fixture(scope='session')
def browser():
    "One headless Chromium for the whole test session"
    why = browser_missing()
    if why: require_or_skip(why)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()

@pytest.fixture(scope='session')
def site(tmp_path_factory):
    "The docs site, built once per session by `tools/build_site.py` into a temporary folder (with `.pages`)"
    if not (shutil.which('node') and (shutil.which('npm') or (ROOT/'node_modules'/'katex').exists())):
        require_or_skip('node and npm are needed to typeset the maths with KaTeX (apt-get install nodejs npm)')
    try: import smalldocs  # noqa: F401
    except ImportError: require_or_skip('smalldocs is not installed (dev extra; it needs Python >= 3.11)')
    out = tmp_path_factory.mktemp('site')
    cmd = [sys.executable, str(ROOT/'tools'/'build_site.py'), '--out', str(out/'_docs'), '--pages-json', str(out/'pages.json')]
    if os.environ.get('SCB_SITE_SKIP_RE'): cmd += ['--skip-file-re', os.environ['SCB_SITE_SKIP_RE']]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)  # its own process: notebook code stays out of pytest's
    if r.returncode: raise RuntimeError(f'the site did not build:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}')
    print(r.stdout)
    site = Built(out/'_docs')
    site.pages = json.loads((out/'pages.json').read_text())
    return site

class Built(type(Path())):
    "The built site's folder; `.pages`: (notebook, page, title) dicts, one per chapter, in sidebar order"
    pages: list

_IMAGES_DECODED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"

def open_page(pg, url, images_timeout_ms=20_000):
    """Open `url` in the Playwright page `pg` as a reader gets it: the page parsed and its scripts run ('load'), the network
    quiet ('networkidle'), every image decoded (given up after `images_timeout_ms`, so that the check of images names what
    failed) and the fonts ready. 'load' and 'networkidle' are independent events: a long page of inline images can pass
    500 ms without a request before it has finished parsing, so waiting for 'networkidle' alone can read a half-built page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    pg.goto(url, wait_until='load', timeout=90_000)   # a slow, busy machine parses a long page slowly
    pg.wait_for_load_state('networkidle')
    try: pg.wait_for_function(_IMAGES_DECODED, timeout=images_timeout_ms)
    except PlaywrightTimeout: pass
    pg.evaluate('document.fonts.ready')
    return pg

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

@pytest.fixture(scope='session')
def site_url(site):
    "The built site, served on 127.0.0.1 for the session"
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(site)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f'http://127.0.0.1:{srv.server_port}/'
    srv.shutdown(); srv.server_close()

@pytest.fixture(scope='session')
def fast_run(tmp_path_factory):
    """One real `scb-nb reproduce --seed 0` (fast scale, cpu) per test session, in a subprocess as a user runs it:
    `(out folder, wall seconds, summary.json as a dict)`. Tests that change files copy the folder first."""
    import time
    script = Path(sys.executable).parent/'scb-nb'
    cmd = [str(script)] if script.exists() else [sys.executable, '-m', 'scb_nb']
    env = {k: v for k, v in os.environ.items() if k != 'SCB_NB_CACHE'}
    env.setdefault('MPLBACKEND', 'Agg')
    out = tmp_path_factory.mktemp('repro')/'out'
    t0 = time.perf_counter()
    r = subprocess.run(cmd + ['reproduce', '--out', str(out), '--seed', '0'], capture_output=True, text=True, timeout=1800, env=env)
    secs = time.perf_counter() - t0
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return out, secs, json.loads((out/'summary.json').read_text())

# Tests run on every core (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml). The tests of one file that share
# an expensive session fixture (the fast reproduction, the built site, a JupyterLab server, the wheel) stay on one
# worker, so each fixture is built once; the notebooks and the other tests are spread over the workers.
_GROUPS = {'test_cli.py': 'cli', 'test_site.py': 'site', 'test_a11y.py': 'site', 'test_jupyterlab.py': 'jupyterlab', 'test_wheel.py': 'wheel'}

@pytest.hookimpl(tryfirst=True)   # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        g = _GROUPS.get(item.path.name)
        if g: item.add_marker(pytest.mark.xdist_group(g))
