"""The site build's text transformations, on small inputs (no build, no browser)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))
from build_site import tidy_signature, tidy_api

def test_tidy_signature_drops_guessed_nonetype_and_function_reprs():
    sig = "def f(\n    ax:NoneType=None, # axes\n    metrics:tuple=(<function distances at 0x7f4e09547740>,), # what to log\n):"
    out = tidy_signature(sig)
    assert 'NoneType' not in out and '0x7f' not in out
    assert 'ax=None, # axes' in out and 'metrics:tuple=(distances,)' in out

def test_tidy_signature_wraps_parameters_and_comments_to_the_width():
    params = ', '.join(f'p{i}:int={i}' for i in range(20))
    comment = ' '.join(['word'] * 30)
    sig = f"def g(\n    {params}\n    x:float=1.0, # {comment}\n)->dict:"
    out = tidy_signature(sig, width=60)
    lines = out.split('\n')
    assert max(map(len, lines)) <= 60
    assert lines[0] == 'def g(' and lines[-1] == ')->dict:'
    # nothing lost, nothing reordered: the code and the comment words read back the same
    code = ' '.join(l.split('#')[0].strip() for l in lines[1:-1])
    assert code.replace(' ', '') == (params + 'x:float=1.0,').replace(' ', '')
    words = ' '.join(l.split('# ', 1)[1] for l in lines if '# ' in l).split()
    assert words == comment.split()
    # continuation lines of the comment sit under its first `#`
    at = [l.index('#') for l in lines if '#' in l]
    assert len(set(at)) == 1

def test_tidy_signature_leaves_short_lines_and_non_signatures_alone():
    sig = "def h(\n    a, # the a\n)->int:"
    assert tidy_signature(sig) == sig
    assert tidy_signature("x = 1  # not a signature " + 'y' * 100).startswith('x = 1')

def test_tidy_api_touches_only_show_doc_outputs():
    md = "```python\ndef f(\n    ax:NoneType=None\n):\n```"
    nb = {'cells': [dict(cell_type='code', source=['show_doc(f)'], outputs=[{'data': {'text/markdown': md}}]),
                    dict(cell_type='code', source=['f()'], outputs=[{'data': {'text/markdown': md}}])]}
    tidy_api(nb)
    assert 'NoneType' not in nb['cells'][0]['outputs'][0]['data']['text/markdown']
    assert nb['cells'][1]['outputs'][0]['data']['text/markdown'] == md
