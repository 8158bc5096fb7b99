"""The README is a front door, built from nbs/index.ipynb (`make readme`): it says what the notebook says, stays
short, names the machine kind and date of every timing it quotes, and the numbers, names and module table it quotes
follow the code."""
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/'README.md').read_text()
NUMBER_WORDS = dict(enumerate('zero one two three four five six seven eight nine ten eleven twelve thirteen'.split()))
KINDS = ('AVX-512-BF16 AMD EPYC', 'AVX2-only AMD EPYC', 'AVX2 AMD EPYC', 'Intel Xeon')  # benchmarks/results/timings.md
DATE = re.compile(r'\b20\d\d-\d\d-\d\d\b')
TIMING = re.compile(r'\b\d+(?:\.\d+)?\s?(?:min|s|h|hours?|minutes?|seconds?)\b')


def prose(text: str) -> str:
    "The text without its fenced code blocks."
    return re.sub(r'```.*?```', '', text, flags=re.S)


def words(text: str) -> int:
    "Words as a reader counts them: tokens with a letter or digit (table rules and tree lines are not words)."
    return sum(bool(re.search(r'\w', w)) for w in text.split())


def section(title: str) -> str:
    "The README's section under the heading that starts with `title`, up to the next heading of its level or above."
    m = re.search(rf'^(#+) {re.escape(title)}.*?$(.*?)(?=^#{{1,2}} |\Z)', README, flags=re.S | re.M)
    assert m, f"the README has no section {title!r}"
    return m.group(2)


def table(text: str, header: str) -> list[list[str]]:
    "The rows (cells stripped of backquotes) of the Markdown table in `text` whose header line starts with `header`."
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(header))
    rows = []
    for l in lines[start + 2:]:
        if not l.startswith('|'): break
        rows.append([c.strip().strip('`') for c in l.strip().strip('|').split('|')])
    return rows


def test_the_readme_is_the_index_notebook():
    "README.md is what `make readme` makes of nbs/index.ipynb: markdown cells only (executing changes nothing)."
    from nbconvert import MarkdownExporter
    nb = nbformat.read(str(ROOT/'nbs'/'index.ipynb'), as_version=4)
    code = [c.source[:80] for c in nb.cells if c.cell_type != 'markdown']
    assert not code, f"nbs/index.ipynb has code cells, whose outputs would be executed into the README: {code}"
    body, _ = MarkdownExporter().from_notebook_node(nb)
    assert body.strip() == README.strip(), "README.md differs from nbs/index.ipynb: edit the notebook, `make readme`"


def test_the_readme_is_short_and_keeps_the_sections_the_docs_read():
    n = words(prose(README))
    assert 300 < n <= 1500, f"the README's prose is {n} words; a front door has about 1,500 at most"
    headings = re.findall(r'^## (.+)$', README, flags=re.M)
    # tests/test_docs.py looks for the first two on the home page
    for h in ('Set-up', 'Batch runs', 'What a run writes', 'Point it at an endpoint', 'Add your own task', 'The docs'):
        assert any(x.startswith(h) for x in headings), (h, headings)


def test_every_timing_names_its_machine_kind_and_date():
    "Each sentence of prose (and each line of code) that quotes a duration names one of the machine kinds and a date."
    pieces = []
    for block in re.findall(r'```.*?```', README, flags=re.S): pieces += block.splitlines()
    for para in re.split(r'\n\s*\n', prose(README)):
        pieces += re.split(r'(?<=[.!?])\s+(?=[A-Z`*])', ' '.join(para.split()))
    timed = [p for p in pieces if TIMING.search(p)]
    assert timed, 'the README quotes no timing at all: the check would not be checking anything'
    for p in timed:
        assert DATE.search(p) and any(k in p for k in KINDS), f"a timing without its machine kind and date: {p!r}"
    # the checker itself: a duration alone is caught, one with its kind and date passes
    assert TIMING.search('took 10 min 21 s') and not TIMING.search('5 seeds, 20 texts, 2 cores')
    assert DATE.search('(2026-12-02, commit 3a22e21)') and not DATE.search('commit 3a22e21')
    timings = (ROOT/'benchmarks'/'results'/'timings.md').read_text()
    assert 'benchmarks/results/timings.md' in README
    assert all(k in timings for k in ('AVX-512-BF16 AMD EPYC', 'AVX2 AMD EPYC', 'emulated AVX2'))


def test_the_numbers_it_quotes_follow_the_code():
    from synthclf.models import DEFAULT_MODEL
    from synthclf.parameters import PROFILES
    from synthclf.tasks import list_tasks
    quick, tasks = PROFILES['quick'], list_tasks()
    setup = ' '.join(section('Set-up').split())
    names = quick['tasks']
    assert f"{len(names)} tasks from objective to subjective (" + ', '.join(f'`{t}`' for t in names) + ')' in setup
    assert f"{quick['generate']['per_label']} synthetic texts per label" in setup
    assert f"embedded default generator `{DEFAULT_MODEL}`" in setup
    assert f"{quick['train']['seeds']} seeds, {quick['train']['test_cap']} test texts" in setup
    assert quick['train']['classifier'] == 'embedding-lr' and 'frozen-MiniLM embeddings + logistic regression' in setup
    assert 'synthclf run --profile quick' in setup and 'synthclf run --profile quick' in (ROOT/'Makefile').read_text()
    curve = [int(s.split('@')[1]) for s in quick['train']['train_on'] if s.startswith('real@') and '+' not in s]
    assert f"({', '.join(map(str, curve))} real texts per label)" in ' '.join(README.split())
    # the result table: one row per quick task, its mixture a source the quick profile trains
    result = section('What a result looks like')
    rows = table(result, '| task |')
    assert [r[0] for r in rows] == names
    mix = re.search(r'\| (\d+) real \+ (zero|few)-shot \|', result)
    assert mix and f"real@{mix.group(1)}+{mix.group(2)}_shot" in quick['train']['train_on']
    # the tasks: as many as the package knows, each in the table
    assert f"## The {NUMBER_WORDS[len(tasks)]} tasks" in README
    assert sorted(r[0] for r in table(section('The ' + NUMBER_WORDS[len(tasks)]), '| task |')) == sorted(tasks)
    assert PROFILES['paper']['tasks'] == 'all' and f"all {NUMBER_WORDS[len(tasks)]} tasks" in README


def test_the_module_table_is_the_package():
    "One row per exported module, with the notebook it is exported from, in the notebooks' order."
    found = []
    for py in sorted((ROOT/'synthclf').glob('*.py')):
        m = re.search(r'File to edit: \.\./nbs/(\S+)\.ipynb', py.read_text()[:500])
        if m: found.append((m.group(1), py.stem))
    rows = [(r[0], r[1]) for r in table(section('Develop'), '| notebook | module |')]
    assert len(found) > 20 and sorted(rows) == sorted(found), (set(rows) ^ set(found))
    assert rows == sorted(rows), 'the table follows the order of nbs/'
