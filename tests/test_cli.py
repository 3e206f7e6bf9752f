"""The `scb-nb` console script (`scb_nb.cli`), run as a user runs it: in a subprocess, with real arguments, real files and
a real Ctrl-C. The one real fast reproduction is the session fixture `fast_run` (tests/conftest.py)."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest

SCRIPT = Path(sys.executable).parent/'scb-nb'
CMD = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, '-m', 'scb_nb']
TMP_SUFFIX = '.scbtmp'

def _env():
    env = {k: v for k, v in os.environ.items() if k != 'SCB_NB_CACHE'}
    env.setdefault('MPLBACKEND', 'Agg')
    return env

def cli(*args, timeout=600):
    "Run `scb-nb ARGS`; returns (CompletedProcess, wall seconds)"
    t0 = time.perf_counter()
    r = subprocess.run(CMD + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=_env())
    return r, time.perf_counter() - t0

def temp_files(d): return sorted(str(p) for p in Path(d).rglob(f'*{TMP_SUFFIX}'))

# --- bad arguments: one line on stderr, non-zero exit, no traceback, nothing computed -------------------------

def _one_line_error(r, name=''):
    "The single stderr line of a refused run (asserting: non-zero exit, no traceback, one line that says error)"
    assert r.returncode != 0, (name, r.stdout, r.stderr)
    assert 'Traceback' not in r.stderr, (name, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'error' in lines[0], (name, r.stderr)
    return lines[0]

def test_bad_arguments(tmp_path):
    "Refused by the parser (status 2), before anything is imported or created"
    cases = {'unknown scale': ['reproduce', '--scale', 'huge', '--out', tmp_path/'o1'],
             'negative seed': ['reproduce', '--seed', '-1', '--out', tmp_path/'o2'],
             'unknown option': ['reproduce', '--bogus', '--out', tmp_path/'o3'],
             'zero threads': ['reproduce', '--threads', '0', '--out', tmp_path/'o4']}
    for name, args in cases.items():
        r, _ = cli(*args, timeout=120)
        _one_line_error(r, name)
        assert r.returncode == 2, (name, r.returncode)
    assert not any((tmp_path/f'o{i}').exists() for i in range(1, 5)), 'a refused run must not create its --out'

def test_only_bogus_is_one_line(tmp_path):
    r, _ = cli('reproduce', '--only', 'bogus', '--out', tmp_path/'o', timeout=120)
    line = _one_line_error(r, '--only bogus')
    assert r.returncode == 1 and line == "scb-nb: error: experiment must be one of 'stage2', 'transfer', 'softmax', 'simulate', 'icl', 'optim', got 'bogus'", r.stderr
    assert not (tmp_path/'o').exists()

def test_unusable_out_folder(tmp_path):
    "An --out under a file, or in a read-only folder: one line naming --out's folder, status 1 (needs the experiments)"
    f = tmp_path/'a_file.txt'
    f.write_text('not a folder')
    cases = {'out is a file': [f], 'out under a file': [f/'sub']}
    if os.geteuid() != 0:   # root writes anywhere, so a read-only folder only tests this for a normal user
        ro = tmp_path/'read_only'
        ro.mkdir(); ro.chmod(0o555)
        cases['read-only out'] = [ro/'sub']
    for name, (out,) in cases.items():
        r, _ = cli('reproduce', '--out', out, timeout=300)
        line = _one_line_error(r, name)
        assert r.returncode == 1 and f"out {str(out)!r}" in line, (name, r.stderr)

def test_cuda_absent_is_one_line(tmp_path):
    import torch
    if torch.cuda.is_available(): pytest.skip('CUDA is available here')
    r, _ = cli('reproduce', '--device', 'cuda', '--out', tmp_path/'o', timeout=120)
    line = _one_line_error(r, '--device cuda')
    assert r.returncode == 1 and line.startswith('scb-nb: error: device must be') and 'torch.cuda.is_available() is False' in line, r.stderr
    assert not (tmp_path/'o').exists()

def test_no_command_prints_usage():
    r, _ = cli(timeout=120)
    assert r.returncode == 2 and r.stderr.startswith('usage: scb-nb') and 'Traceback' not in r.stderr

# --- the lazy command line: --version and --help import neither torch nor any chapter ----------------------------

HEAVY = ('torch', 'matplotlib', 'numpy')

def _heavy(modules):
    "The heavy or chapter modules among `modules`: torch, matplotlib, numpy, and scb_nb.* but the CLI"
    return sorted(m for m in modules if m.split('.')[0] in HEAVY or (m.startswith('scb_nb.') and m != 'scb_nb.cli'))

def test_version(tmp_path):
    import scb_nb
    r, _ = cli('--version', timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f'scb-nb {scb_nb.__version__}', (r.stdout, r.stderr)

def test_python_m_scb_nb_is_the_console_script():
    import scb_nb
    r = subprocess.run([sys.executable, '-m', 'scb_nb', '--version'], capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 0 and r.stdout.strip() == f'scb-nb {scb_nb.__version__}', (r.stdout, r.stderr)
    r = subprocess.run([sys.executable, '-m', 'scb_nb', 'reproduce', '--seed', 'x'], capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 2 and r.stderr.startswith('scb-nb reproduce: error: argument --seed'), r.stderr

PROBE = """import sys, scb_nb.cli
for args in (['--version'], ['--help'], ['reproduce', '--help']):
    try: scb_nb.cli.main(args)
    except SystemExit as e: assert e.code == 0, (args, e.code)
print(repr(sorted(sys.modules)))"""

def test_version_and_help_do_not_import_torch():
    "After parsing --version and --help, in a fresh process, sys.modules holds no torch, matplotlib, numpy or chapter"
    r = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 0, r.stderr
    modules = eval(r.stdout.strip().splitlines()[-1])
    assert 'scb_nb.cli' in modules and _heavy(modules) == [], _heavy(modules)

@pytest.mark.parametrize('args', [['--version'], ['--help'], ['reproduce', '--help']])
def test_help_imports_nothing_heavy_importtime(args):
    "The same seen by `python -X importtime -m scb_nb ARGS`: every module imported, by name"
    r = subprocess.run([sys.executable, '-X', 'importtime', '-m', 'scb_nb', *args], capture_output=True, text=True,
                       timeout=120, env=_env())
    assert r.returncode == 0, r.stderr
    names = [l.rsplit('|', 1)[1].strip() for l in r.stderr.splitlines() if l.startswith('import time:') and '|' in l]
    assert 'scb_nb.cli' in names and _heavy(names) == [], _heavy(names)

def test_ctrl_c_during_imports_is_one_line(tmp_path):
    "Ctrl-C while `reproduce` is still importing torch: one line, status 130, no traceback"
    p = subprocess.Popen([sys.executable, '-X', 'importtime', '-m', 'scb_nb', 'reproduce', '--out', str(tmp_path/'o')],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    seen = []
    for line in p.stderr:   # -X importtime reports each import as it ends: wait for the first of torch's
        seen.append(line)
        if line.startswith('import time:') and line.rsplit('|', 1)[-1].strip().startswith('torch'): break
    else: pytest.fail('torch was never imported:\n' + ''.join(seen[-20:]))
    p.send_signal(signal.SIGINT)
    _, rest = p.communicate(timeout=60)
    err = [l for l in (''.join(seen) + rest).splitlines() if not l.startswith('import time:')]
    assert p.returncode == 130, (p.returncode, err)
    assert len(err) == 1 and err[0].startswith('scb-nb: interrupted'), err

# --- the registry -------------------------------------------------------------------------------------------------

def test_this_file_runs_in_one_xdist_group(request):
    "Under --dist loadgroup the session's fast reproduction must be built once: every test here is in the group 'cli'"
    if request.config.getvalue('loadgroup'): assert request.node.nodeid.endswith('@cli'), request.node.nodeid

def test_reproduce_list_lists_stage2():
    "`reproduce --list` and `list` print `name: doc` per experiment (needs scb_nb.stage2.EXPERIMENT)"
    r, _ = cli('reproduce', '--list', timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert any(l.startswith('stage2: ') and len(l) > len('stage2: ') for l in lines), r.stdout
    r2, _ = cli('list', timeout=300)
    assert r2.returncode == 0 and r2.stdout == r.stdout, (r2.stdout, r2.stderr)

# --- one real fast run (the session fixture `fast_run` in conftest.py), shared by the tests below ------------------

def test_fast_run_writes_everything(fast_run):
    out, secs, s = fast_run
    assert s['scale'] == 'fast' and s['seed'] == 0 and s['device'] == 'cpu'
    assert {'fig1', 'fig3', 'fig4'} <= set(s['figures']), sorted(s['figures'])
    md = (out/'summary.md').read_text()
    for name, e in s['figures'].items():
        png = out/e['png']
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 5000, png
        run = json.loads((out/'run.json').read_text())['figures'][name]
        assert e['metrics'] and e['samples'] > 0 and run['seconds'] > 0 and run['cached'] is False, (name, e, run)
        assert f'[{name}]({name}.png)' in md
    assert s['n_claims'] > 0 and f"{s['n_claims']} of {s['n_claims']} hold" in md
    assert temp_files(out) == []

def test_second_run_hits_the_cache(fast_run, tmp_path):
    out, _, s1 = fast_run
    out2 = tmp_path/'out'
    shutil.copytree(out, out2)   # the session's run stays as it was, for the other tests
    r, _ = cli('reproduce', '--out', out2, '--seed', 0)
    assert r.returncode == 0, r.stderr
    s2, run1, run2 = (json.loads(p.read_text()) for p in (out2/'summary.json', out/'run.json', out2/'run.json'))
    assert all(e['cached'] for e in run2['figures'].values()), f"expected cache hits (did the code change in between?)\n{r.stderr}"
    assert (out2/'summary.json').read_bytes() == (out/'summary.json').read_bytes()
    assert {f: e['seconds'] for f, e in run2['figures'].items()} == {f: e['seconds'] for f, e in run1['figures'].items()}

def test_stage2_alone_from_the_cache_with_check(fast_run, tmp_path):
    "`--only stage2 --check` on the session's cache: served from it, every claim holds, status 0"
    out, _, s1 = fast_run
    out2 = tmp_path/'out'
    shutil.copytree(out, out2)
    r, _ = cli('reproduce', '--out', out2, '--seed', 0, '--only', 'stage2', '--check')
    assert r.returncode == 0, (r.stdout, r.stderr)
    s2, run2 = (json.loads((out2/n).read_text()) for n in ('summary.json', 'run.json'))
    assert {e['experiment'] for e in s2['figures'].values()} == {'stage2'} and all(e['cached'] for e in run2['figures'].values())
    assert r.stdout.strip().splitlines()[-1].endswith(f"{s2['n_claims']} of {s2['n_claims']} claims hold"), r.stdout

def test_corrupt_cache_is_recomputed_to_the_same_numbers(fast_run, tmp_path):
    """A damaged entry is reported in one line and recomputed; the recomputation (same seed) gives identical numbers.
    Every entry is damaged; one experiment (softmax) is rerun, so that the test recomputes one experiment, not all."""
    out, _, s1 = fast_run
    out2 = tmp_path/'out'
    shutil.copytree(out, out2)
    entries = sorted((out2/'.scb_cache').glob('*.json'))
    assert entries
    before = {p.name: json.loads(p.read_text())['payload'] for p in entries}
    for p in entries: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])   # partial entries
    r, _ = cli('reproduce', '--out', out2, '--seed', 0, '--only', 'softmax')
    assert r.returncode == 0, r.stderr
    assert 'corrupt' in r.stderr and 'Traceback' not in r.stderr
    s2, run2 = (json.loads((out2/n).read_text()) for n in ('summary.json', 'run.json'))
    assert run2['figures'] and not any(e['cached'] for e in run2['figures'].values())
    # A fresh process recomputed the softmax experiment: its figures' numbers and claims are the session's, and the trajectories in
    # the rewritten cache entry are bitwise identical.
    assert s2['figures'] == {f: e for f, e in s1['figures'].items() if e['experiment'] == 'softmax'}
    def readable(p):
        try: return json.loads(p.read_text())
        except ValueError: return None
    rewritten = [p for p in entries if readable(p) is not None]
    assert len(rewritten) == 1, [p.name for p in rewritten]
    after = json.loads(rewritten[0].read_text())['payload']
    params = lambda p: {g: {k: r['params'] for k, r in rs.items()} for g, rs in p.items()}
    assert params(after) == params(before[rewritten[0].name])

def test_ctrl_c_leaves_no_partial_file(tmp_path):
    out = tmp_path/'out'
    p = subprocess.Popen(CMD + ['reproduce', '--out', str(out), '--seed', '1'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=_env())
    first = p.stderr.readline()   # the first status line: the computation has started
    assert first.startswith('scb-nb:'), first
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    stdout, rest = p.communicate(timeout=60)
    err = first + rest
    assert p.returncode == 130, (p.returncode, err)
    assert 'Traceback' not in err and err.strip().splitlines()[-1].startswith('scb-nb: interrupted'), err
    assert temp_files(out) == [], temp_files(out)
    for f in out.rglob('*.json'): json.loads(f.read_text())   # whatever exists is complete
    assert not (out/'summary.json').exists()

def test_empty_or_bad_folders_are_refused_before_any_work(tmp_path):
    "`--out ''`, `--cache ''`, an empty `$SCB_NB_CACHE` and a cache path that is a file: one line, nothing computed"
    f = tmp_path/'a_file'
    f.write_text('x')
    for args, env in ((['--out', ''], {}), (['--out', tmp_path/'o1', '--cache', ''], {}),
                      (['--out', tmp_path/'o2', '--cache', f], {}), (['--out', tmp_path/'o3'], {'SCB_NB_CACHE': ''})):
        r = subprocess.run(CMD + ['reproduce'] + [str(a) for a in args], capture_output=True, text=True, timeout=120,
                           env=_env() | env, cwd=tmp_path)
        assert r.returncode == 1 and 'Traceback' not in r.stderr, (args, env, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and ('must be a folder path' in r.stderr or 'not a folder' in r.stderr), r.stderr
        assert not list(tmp_path.glob('*.png')) and not (tmp_path/'summary.json').exists()

def _complete(out, reference):
    "The folder holds one whole run: the reference's summary.json byte for byte, every PNG it names, no leftovers"
    assert (out/'summary.json').read_bytes() == reference
    s = json.loads(reference)
    assert all((out/e['png']).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' for e in s['figures'].values())
    assert not list(out.glob('.staging-*')) and temp_files(out) == []

@pytest.mark.parametrize('delay', [0.8, 1.6, 2.4])
def test_sigkill_then_rerun_recovers(fast_run, tmp_path, delay):
    "A run killed with SIGKILL at some point leaves the previous run's files whole; the next run cleans up and completes"
    out, _, _ = fast_run
    out2 = tmp_path/'out'
    shutil.copytree(out, out2)
    reference = (out/'summary.json').read_bytes()
    p = subprocess.Popen(CMD + ['reproduce', '--out', str(out2), '--seed', '0'], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=_env())
    time.sleep(delay)
    p.kill(); p.wait()
    assert (out2/'summary.json').read_bytes() == reference                  # never a mix of two runs
    r, _ = cli('reproduce', '--out', out2, '--seed', 0)
    assert r.returncode == 0, r.stderr
    _complete(out2, reference)

def test_two_concurrent_runs_on_one_folder(fast_run, tmp_path):
    "Two runs at once on one output folder both succeed and leave one whole run behind"
    out, _, _ = fast_run
    out2 = tmp_path/'out'
    shutil.copytree(out, out2)
    ps = [subprocess.Popen(CMD + ['reproduce', '--out', str(out2), '--seed', '0'], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=_env()) for _ in range(2)]
    for p in ps: assert p.wait(timeout=300) == 0, p.stderr.read()
    _complete(out2, (out/'summary.json').read_bytes())
