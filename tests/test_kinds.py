"""A kind of generator is added in one place: registered in `synthclf.kinds` (here, in the test), it is a generator for
the generator axis, the runner's plan and the generate stage's manifest, and its parameters are the generator's own
where runs are compared, with no other edit."""
import pytest

from synthclf.generators import generator_overrides, run_generators
from synthclf.kinds import GENERATOR_KINDS, GeneratorKind, generator_keys, generator_kind, register_generator_kind
from synthclf.manifest import generator_identity


@pytest.fixture
def echo_kind():
    "A kind that would write its sets itself (never called by a plan), naming a sampling temperature as its own."
    def never(*a, **kw): raise AssertionError('a plan generated texts')
    kind = register_generator_kind(GeneratorKind(
        'echo', lambda rest: (f'echo-{rest}', {'backend': 'echo', 'model': rest, 'temperature': 0.0}), generate=never,
        identity=lambda p: {'backend': 'echo', 'spec': p.get('model')}, help='echo:<text> for a test kind',
        keys=('backend', 'model', 'temperature')))
    yield kind
    del GENERATOR_KINDS['echo']


def test_a_kind_registered_in_one_place_goes_through_the_runners_plan(echo_kind, tmp_path, real_data):
    assert 'temperature' in generator_keys() and generator_kind('echo') is echo_kind
    assert generator_overrides('echo:hi') == ('echo-hi', {'generate.backend': 'echo', 'generate.model': 'hi',
                                                          'generate.temperature': 0.0})
    res = run_generators(['echo:hi'], 'quick', tmp_path, 'sms_spam', {'seeds': 1}, dry_run=True, progress=False)
    plan = res['runs']['echo-hi']
    assert plan['out'] == str((tmp_path/'echo-hi').resolve()) and plan['tasks'] == ['sms_spam']
    assert plan['plan']['backend'] == 'echo' and plan['plan']['model'] == 'hi', plan['plan']
    assert [(r['stage'], r['status']) for r in plan['stages']] == [
        ('generate', 'to run'), ('train', 'to run'), ('subjectivity', 'to run'), ('report', 'to run')], plan['stages']
    params = {'backend': 'echo', 'model': 'hi', 'temperature': 0.0}
    assert generator_identity('generate', params) == {'backend': 'echo', 'spec': 'hi'}  # what the manifest records
    assert not list(tmp_path.rglob('*.ipynb'))  # planned, nothing run


def test_an_unregistered_kind_is_refused_by_name(tmp_path):
    assert 'temperature' not in generator_keys() and generator_kind('echo') is None
    with pytest.raises(ValueError, match="Unknown generator 'echo:hi'.*openai:<model>.*file:PATH"):
        generator_overrides('echo:hi')
