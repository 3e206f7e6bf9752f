"""`pip install scb_nb` as a user gets it: the wheel holds the library and not the notebooks, installs in a fresh
venv without downloading anything, imports there, and carries complete PyPI metadata whose README renders on PyPI."""
import email, os, re, subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT/'scb_nb').glob('*.py') if not p.stem.startswith('_'))

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    "Build the wheel once, with the project venv's setuptools (no download)"
    d = tmp_path_factory.mktemp('wheel')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(d), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    whl, = d.glob('scb_nb-*.whl')
    return whl

@pytest.fixture(scope='module')
def meta(wheel):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        return email.message_from_string(z.read(name).decode())

def test_wheel_holds_the_library_not_the_notebooks(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    pkg = {n.split('/', 1)[1] for n in names if n.startswith('scb_nb/')}
    assert {f'{m}.py' for m in MODULES} | {'__init__.py', '_modidx.py'} <= pkg, f'missing modules: {pkg}'
    tops = {n.split('/')[0] for n in names}
    assert all(t == 'scb_nb' or t.endswith('.dist-info') for t in tops), f'unexpected top-level entries: {tops}'
    assert not [n for n in names if n.endswith('.ipynb') or '/tests/' in n or n.startswith(('nbs/', 'tests/', 'tools/'))]

def test_metadata_is_complete_for_pypi(meta):
    for k in ('Name', 'Version', 'Summary', 'Requires-Python', 'Description-Content-Type'):
        assert meta.get(k), f'METADATA has no {k}'
    assert meta.get('License-Expression') or meta.get('License'), 'no licence'
    assert meta.get_all('License-File'), 'the licence file is not in the wheel'
    urls = dict(u.split(', ', 1) for u in meta.get_all('Project-URL') or [])
    assert {'Repository', 'Documentation'} <= urls.keys() or len(urls) >= 2, f'project URLs: {urls}'
    assert all(u.startswith('https://') for u in urls.values())
    cls = meta.get_all('Classifier') or []
    assert any(c.startswith('Programming Language :: Python :: 3') for c in cls) and any('License' in c or 'Topic' in c for c in cls)
    assert meta['Description-Content-Type'].startswith('text/markdown')
    assert len(meta.get_payload()) > 200, 'the long description (README.md) is missing'

def test_dependencies_have_lower_bounds_only(meta):
    reqs = [r for r in meta.get_all('Requires-Dist') or [] if 'extra ==' not in r]
    assert reqs, 'no runtime dependencies declared'
    for r in reqs:
        spec = re.split(r'[;]', r)[0]
        assert not re.search(r'==|<|~=|===', spec), f'{r!r} pins an upper bound or an exact version: it will rot'
        assert '>=' in spec, f'{r!r} has no lower bound'

def test_requires_python_is_a_lower_bound(meta):
    assert re.fullmatch(r'>=\s*3\.\d+', meta['Requires-Python'].strip()), meta['Requires-Python']

def test_installs_and_imports_in_a_fresh_venv(wheel, tmp_path):
    """A new venv sees the project's installed packages (torch, numpy, ...) through a .pth path entry, so pip resolves
    every dependency with --no-index (nothing downloaded); the package itself comes from the wheel."""
    env = tmp_path/'venv'
    venv.EnvBuilder(with_pip=False).create(env)
    py = env/'bin'/'python'
    site = Path(subprocess.check_output([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], text=True).strip())
    (site/'_project_deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    r = subprocess.run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '--no-index', '-q', str(wheel)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    code = ('import importlib, pathlib, scb_nb; '
            f'[importlib.import_module("scb_nb." + m) for m in {MODULES!r}]; '
            'print(pathlib.Path(scb_nb.__file__).resolve()); print(scb_nb.__version__)')
    env_vars = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    out = subprocess.run([str(py), '-c', code], capture_output=True, text=True, cwd=tmp_path, env=env_vars)
    assert out.returncode == 0, out.stderr
    where, version = out.stdout.split()
    assert Path(where).is_relative_to(site.resolve()), f'scb_nb imported from {where}, not from the wheel in {site}'
    import scb_nb
    assert version == scb_nb.__version__

# ---------------------------------------------------------------- README on PyPI

QUARTO = [(r'^:::', 'a Quarto/Pandoc div (:::)'), (r'\{\{<', 'a Quarto shortcode {{< >}}'), (r'^#\|', 'a Quarto cell option #|'),
          (r'\]\([^)]*\)\{[^}]*\}', 'Pandoc attributes after a link or image {...}'), (r'^```\{', 'an executable code fence ```{...}'),
          (r'@(fig|tbl|eq|sec)-', 'a Quarto cross-reference'), (r'^---\s*$\n(?:.*\n)*?^title:', 'YAML front matter')]

def test_readme_renders_on_pypi():
    readme = ROOT/'README.md'
    assert readme.is_file(), 'README.md is missing (pyproject uses it as the PyPI description)'
    text = readme.read_text()
    found = [what for pat, what in QUARTO if re.search(pat, text, re.M)]
    assert not found, f'README.md uses syntax PyPI does not render: {found}'
    bad = [l for l in re.findall(r'!?\[[^\]]*\]\(([^)\s]+)', text) if not re.match(r'(https?:|mailto:|#)', l)]
    assert not bad, f'relative links or images break on PyPI (use absolute URLs): {bad}'
    try: from readme_renderer.markdown import render
    except ImportError: pytest.skip('readme_renderer is not installed: only the Quarto-syntax check ran')
    html = render(text, variant='GFM')
    assert html and '<h' in html, 'readme_renderer could not render README.md'
