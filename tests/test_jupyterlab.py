"""The notebooks as tutorials: JupyterLab serves a copy of nbs/ on 127.0.0.1 with a token, Chromium opens a
notebook, runs all its cells from the Run menu and saves it; the saved notebook must hold no error output, and every
widget output must have rendered as a widget in the page.

The copy leaves out cells flagged with the project's test flags (`tst_flags`: `slow`, `notest`), as `nbdev-test` does:
those are the paper-scale runs. The server runs in its own session and is stopped by its own process id."""
import json, os, re, secrets, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
WIDGET = 'application/vnd.jupyter.widget-view+json'

NOTEBOOKS = [pytest.param('00_data.ipynb', id='data-model'), pytest.param('03_train.ipynb', id='training')]

def _flags():
    from nbdev.config import get_config
    return get_config(ROOT).tst_flags.split()

def _copy_nbs(dst:Path):
    "Copy nbs/ for JupyterLab: cleared outputs, and no cells carrying a test flag (paper-scale runs)"
    flags = _flags()
    flag_re = re.compile(r'^\s*#\|\s*(' + '|'.join(map(re.escape, flags)) + r')\s*$', re.M) if flags else None
    dst.mkdir(parents=True)
    for p in (ROOT/'nbs').iterdir():
        if p.suffix != '.ipynb':
            if p.is_file(): (dst/p.name).write_bytes(p.read_bytes())
            continue
        nb = json.loads(p.read_text())
        cells = []
        for c in nb['cells']:
            if c['cell_type'] == 'code':
                if flag_re and flag_re.search(''.join(c['source'])): continue
                c['outputs'], c['execution_count'] = [], None
            cells.append(c)
        nb['cells'] = cells
        (dst/p.name).write_text(json.dumps(nb, indent=1))
    return dst

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def lab(tmp_path_factory, browser):
    "JupyterLab on 127.0.0.1 with a random token, serving a copy of nbs/; stopped by its process id at the end"
    tmp = tmp_path_factory.mktemp('lab')
    work = _copy_nbs(tmp/'nbs')
    settings = tmp/'settings'/'@jupyterlab'/'notebook-extension'
    settings.mkdir(parents=True)
    # draw every cell (JupyterLab 4 only draws the cells in view by default), so the page can be checked whole
    (settings/'tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))
    (tmp/'settings'/'@jupyterlab'/'apputils-extension').mkdir(parents=True)  # no "get Jupyter news?" toast
    (tmp/'settings'/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false'}))
    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp/'settings'), JUPYTERLAB_WORKSPACES_DIR=str(tmp/'ws'),
               JUPYTER_RUNTIME_DIR=str(tmp/'runtime'), JUPYTER_CONFIG_DIR=str(tmp/'config'))
    log = open(tmp/'server.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1',
                             f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}',
                             f'--ServerApp.root_dir={work}', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
                            + (['--allow-root'] if os.geteuid() == 0 else []),
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: pytest.fail(f'JupyterLab exited with {proc.returncode}:\n' + (tmp/'server.log').read_text()[-3000:])
            try:
                with urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2) as r:
                    if r.status == 200: break
            except OSError: time.sleep(0.5)
        else: pytest.fail('JupyterLab did not answer within 60 s:\n' + (tmp/'server.log').read_text()[-3000:])
        yield dict(base=base, token=token, work=work, log=tmp/'server.log')
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # the server shuts down its kernels on SIGTERM
            try: proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the server and the kernels it started
                proc.wait(timeout=10)
        log.close()

NB = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook'  # the notebook on show

_JS_PROGRESS = r"""() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
  return {n: prompts.length, busy: prompts.filter(p => p.includes('*')).length, done: prompts.filter(p => /\[\d+\]/.test(p)).length,
          kernel: (document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator') || document.querySelector('.jp-Notebook-ExecutionIndicator') || {}).dataset?.status || ''};
}"""

_JS_WIDGETS = r"""() => ({
  views: document.querySelectorAll('.jp-OutputArea-output .jupyter-widgets, .jp-OutputArea-output .widget-container, .jp-OutputArea-output .lm-Widget.jupyter-widget').length,
  sliders: document.querySelectorAll('.jp-OutputArea-output .widget-slider').length,
  imgs: [...document.querySelectorAll('.jp-OutputArea-output img')].map(i => i.complete && i.naturalWidth > 0),
  broken: [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.innerText)
            .filter(t => /Error displaying widget|Loading widget\.\.\.|model not found/.test(t)).map(t => t.slice(0, 200)),
})"""

def _wait_kernel_idle(lab, name, timeout=90):
    "Wait until the server has a kernel for the notebook's session and the kernel is idle"
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with urllib.request.urlopen(f"{lab['base']}/api/sessions?token={lab['token']}", timeout=5) as r:
                ss = [s for s in json.load(r) if s.get('path', '').endswith(name)]
            if ss and ss[0].get('kernel', {}).get('execution_state') == 'idle': return
        except OSError: pass
        time.sleep(0.5)
    pytest.fail(f'{name}: no idle kernel after {timeout} s')

def _run_all(page):
    "Run > Run All Cells, from JupyterLab's menu"
    page.keyboard.press('Escape')
    page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).click()
    page.locator('.lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).click()

@pytest.mark.parametrize('name', NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, browser, shots, name):
    n_code = sum(c['cell_type'] == 'code' for c in json.loads((lab['work']/name).read_text())['cells'])
    page = browser.new_page(viewport=dict(width=1400, height=1000))
    try:
        # a workspace of its own, reset: only this notebook is open
        page.goto(f"{lab['base']}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={lab['token']}", wait_until='domcontentloaded')
        page.wait_for_selector(f'{NB} .jp-Cell', timeout=60_000)
        _wait_kernel_idle(lab, name)
        page.wait_for_function("() => (document.querySelector('.jp-Notebook-ExecutionIndicator') || {}).dataset?.status === 'idle'", timeout=60_000)
        _run_all(page)
        t0, quiet, st = time.time(), 0, {}
        while time.time() - t0 < 400:          # done: every cell numbered, or idle for 3 s after an error stopped the run
            time.sleep(1)
            st = page.evaluate(_JS_PROGRESS)
            if st['done'] == st['busy'] == 0 and int(time.time() - t0) in (20, 40): _run_all(page)  # the click came too early
            if st['done'] == st['n'] == n_code and st['kernel'] == 'idle': break
            quiet = quiet + 1 if (st['busy'] == 0 and st['kernel'] == 'idle' and st['done'] > 0) else 0
            if quiet >= 3: break
        else: pytest.fail(f'{name}: the run did not finish in 400 s ({st})')
        secs = time.time() - t0
        page.keyboard.press('Control+s')
        saved = lab['work']/name
        for _ in range(40):                    # wait for JupyterLab to write the run to disk
            time.sleep(0.5)
            nb = json.loads(saved.read_text())
            if sum(c.get('execution_count') is not None for c in nb['cells'] if c['cell_type'] == 'code') >= st['done']: break
        widgets = page.evaluate(_JS_WIDGETS)
        shown = page.locator('.jp-OutputArea-output .jupyter-widgets').filter(visible=True)
        if shown.count(): shown.first.scroll_into_view_if_needed(timeout=10_000)
        page.screenshot(path=str(shots/f'lab_{Path(name).stem}_widget.png'), full_page=False)
        page.locator(NB).first.evaluate('e => e.scrollTop = e.scrollHeight')
        page.screenshot(path=str(shots/f'lab_{Path(name).stem}_end.png'), full_page=False)
    finally:
        page.close()
    errors = [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(nb['cells']) for o in c.get('outputs', [])
              if o.get('output_type') == 'error']
    assert not errors, f'{name}: error output in JupyterLab:\n' + '\n'.join(errors)
    ran = sum(c.get('execution_count') is not None for c in nb['cells'] if c['cell_type'] == 'code')
    assert ran == n_code == st['done'], f'{name}: {ran} of {n_code} code cells ran ({st})'
    n_widgets = sum(WIDGET in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', []))
    assert not widgets['broken'], f'{name}: widgets failed to render: {widgets["broken"]}'
    assert widgets['views'] >= n_widgets, f'{name}: {n_widgets} widget outputs but {widgets["views"]} rendered widget views'
    assert all(widgets['imgs']), f"{name}: {widgets['imgs'].count(False)} of {len(widgets['imgs'])} figures did not load"
    if name == '00_data.ipynb': assert n_widgets >= 1 and widgets['sliders'] >= 1, 'the data-model explorer did not render its sliders'
    print(f"{name}: {n_code} code cells ran in JupyterLab in {secs:.0f} s, {n_widgets} widget(s) and {len(widgets['imgs'])} figure(s) rendered")
