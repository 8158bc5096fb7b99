"The text cleaner on the shapes small models answer in, and on a corpus of raw answers seen on each kind of machine."
import json
from pathlib import Path

import pytest

from synthclf.generate import clean_text, quoted_passage, take_quoted
from synthclf.tasks import get_card

CORPUS = Path(__file__).parent / 'data' / 'raw_answers.jsonl'  # tools/raw_answers.py appends to it on each kind of machine

YAR = 'Yar, clean shaker, eet, leet, cheel, kathleen, lang!'
REVIEW = '"' + 'A slow film that rewards patience and a quiet room.' * 4 + '"\n\n' + 'The second half is better still. ' * 4
SHAPES = [  # (task, raw answer, the text kept or None, why rejected)
    ('sms_spam', f'"{YAR}"\n\nThat\'s my GPS, but it\'s a fake. It\'s a', YAR, None),  # issue 32, an Intel Xeon with AMX
    ('sms_spam', f'"{YAR}"\nThat\'s my GPS, but it\'s a fake.', YAR, None),  # one newline between them
    ('sms_spam', f'Here is my message, a bit pirate-like:\n\n"{YAR}"', YAR, None),  # commentary, then the quoted text
    ('sms_spam', f'I kept it short.\n\n“{YAR}”\n\nHope you like it!', YAR, None),  # talk on both sides, curly quotes
    ('sms_spam', f'"{YAR}".\n\nIt mixes words on purpose.', YAR, None),  # a full stop after the closing quote
    ('tweet_irony', '"Love it when my "fast" train is 40 minutes late #blessed"\n\nThis tweet is ironic because the train is slow.',
     'Love it when my "fast" train is 40 minutes late #blessed', None),  # nested straight quotes inside the message
    ('tweet_irony', '“Great, another “quick” meeting that ate my whole afternoon”\n\nThe irony is in “quick”.',
     'Great, another “quick” meeting that ate my whole afternoon', None),  # nested curly quotes
    ('sarcasm_news', 'Headline:\n\n"Area man heroically finishes entire to-do list, immediately writes new one"\n\nIt is sarcastic.',
     'Area man heroically finishes entire to-do list, immediately writes new one', None),
    ('sms_spam', 'Claim your "FREE" prize now, call 0800 123 456 before midnight',  # a quoted word inside: kept as it is
     'Claim your "FREE" prize now, call 0800 123 456 before midnight', None),
    ('sms_spam', '"Sorry" she said, "running late again"\n\nSee you soon at the station',  # two quotes: not one passage
     '"Sorry" she said, "running late again"\n\nSee you soon at the station', None),
    ('imdb', REVIEW, REVIEW, None),  # a review may have paragraphs and quote itself: take_quoted leaves it
]


@pytest.mark.parametrize('task,raw,kept,why', SHAPES, ids=[f'{t}-{i}' for i, (t, *_) in enumerate(SHAPES)])
def test_quoted_text_is_kept_and_the_talk_about_it_dropped(task, raw, kept, why):
    text, reason = clean_text(raw, get_card(task))
    assert (text, reason) == (kept.strip() if kept else kept, why)


def test_take_quoted_needs_one_passage_and_other_paragraphs():
    assert take_quoted(f'"{YAR}"') == f'"{YAR}"'  # alone: strip_wrapping's job, not this one's
    assert take_quoted('one line\nand another') == 'one line\nand another'
    assert take_quoted('"Hi" he said. "Bye"\nok') == '"Hi" he said. "Bye"\nok'
    assert take_quoted('"first"\n"second, longer one"\ntalk') == 'first'  # the first passage is the answer


def corpus() -> list[dict]:
    return [json.loads(l) for l in CORPUS.read_text().splitlines() if l.strip()]


def test_corpus_covers_the_kinds_and_models_it_was_collected_on():
    rows = corpus()
    assert len(rows) >= 100 and {r['model'] for r in rows} >= {'smollm2-135m-instruct', 'qwen2.5-coder-0.5b-instruct'}
    assert len({r['machine'] for r in rows}) >= 2, 'answers from one kind of machine only'
    assert len({(r['model'], r['task'], r['raw']) for r in rows}) == len(rows)


@pytest.mark.parametrize('row', corpus(), ids=lambda r: f"{r['model'][:7]}-{r['task']}-{r['mode']}")
def test_corpus_answers_clean_as_recorded(row):
    "Each raw answer cleans as it did when it was collected and read: a change to the cleaner that moves one must be meant."
    text, reason = clean_text(row['raw'], get_card(row['task']))
    assert (text, reason) == (row['text'], row['reason']), row['raw']
    if text is not None:  # the product's contract on whatever a model says
        assert text.strip() == text and quoted_passage(text) is None and not text.lower().startswith(('sure', 'here is', "here's"))
        if get_card(row['task']).one_paragraph: assert take_quoted(text) == text, 'a quoted message kept with talk about it'


# Degenerate answers: a phrase looped until the token limit. The first is a qwen2.5-coder-0.5b few-shot ag_news text that
# the cleaner accepted before `repeated_run` (the quick run's 680 generated texts held one such); the others are made
# the same way. The kept ones are real train texts of sms_spam and tweet_irony (a word said again is ordinary).
LOOPED = ['A Nigerian Nigerian Lagos lady named Obiji © Obiji © Obiji © Obiji © Obiji © Obiji © Obiji © Obiji ©',
          'Call now to win: free entry free entry free entry free entry free entry free entry',
          'the match was a draw a draw a draw a draw a draw a draw a draw']
ORDINARY = ['Hi happy birthday. Hi hi hi hi hi hi hi', 'You also didnt get na hi hi hi hi hi',
            '@user @user @user @user @user @user nice what you cooking me😜😜',
            'Sorry, I will call later. Sorry sorry, I will call later, ok?']


@pytest.mark.parametrize('text', LOOPED)
def test_looped_phrases_are_rejected_as_repetition(text):
    assert clean_text(text, get_card('sms_spam')) == (None, 'repetition')


@pytest.mark.parametrize('text', ORDINARY)
def test_a_repeated_word_is_kept(text):
    assert clean_text(text, get_card('sms_spam'))[1] is None
