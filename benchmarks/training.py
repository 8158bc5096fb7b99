"""MiniLM fine-tuning throughput on this machine, next to a plain Hugging Face `Trainer` (run by hand; not a test).

    .venv/bin/python benchmarks/training.py [--tasks ag_news imdb] [--out benchmarks/results]

For each task, the same real training rows and test rows go to:
- synthclf's `EncoderClassifier` (length-grouped batches, dynamic padding, max length from the texts,
  bf16 autocast where the CPU has it, all cores), with no validation split and `min_steps=0`, so it
  trains exactly the same number of epochs as the Trainer;
- `transformers.Trainer` with default settings (fp32, random batches, padding by its default collator,
  truncation at the tokenizer's limit), with the same batch size, epochs and learning rate.
Rows: training samples/s, test predictions/s, wall time and the test macro-F1 of both. Targets: at
least 1.5x the Trainer's training throughput; 2,000 ag_news examples x 3 epochs in under 5 minutes.
Each side runs in a fresh process so that its peak memory (max RSS) is its own.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
SIZES = {'ag_news': (2000, 3, 2000), 'imdb': (400, 1, 400)}  # train rows, epochs, test rows (imdb reviews are long)


def data(task, n_train, n_test):
    from synthclf.data import cap_test, load_task, subsample_per_label
    warnings.simplefilter('ignore')
    card, dsd = load_task(task)
    train = subsample_per_label(dsd['train'], n_train // card.num_labels, seed=0)
    return card, train, cap_test(dsd['test'], n_test, seed=0)


def run_synthclf(task, epochs, batch, lr, n_train, n_test):
    from synthclf.classifiers import EncoderClassifier
    from synthclf.experiments import evaluate
    card, train, test = data(task, n_train, n_test)
    clf = EncoderClassifier(lr=lr, epochs=epochs, batch_size=batch, val_fraction=0, min_steps=0, progress=False)
    t = time.perf_counter(); clf.fit(train['text'], train['label'], card.num_labels); fit = time.perf_counter() - t
    t = time.perf_counter(); proba = clf.predict_proba(test['text']); pred = time.perf_counter() - t
    return dict(train_seconds=fit, predict_seconds=pred, samples=train.num_rows * epochs, test=test.num_rows, max_length=clf.max_length_,
                bf16=clf.bf16, macro_f1=evaluate(test['label'], proba, card.label_names)['macro_f1'])


def run_trainer(task, epochs, batch, lr, n_train, n_test):
    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments
    from synthclf.classifiers import resolve_encoder
    from synthclf.experiments import evaluate
    card, train, test = data(task, n_train, n_test)
    path = resolve_encoder()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=card.num_labels)
    enc = lambda ds: ds.map(lambda b: tok(b['text'], truncation=True), batched=True).select_columns(['input_ids', 'attention_mask', 'token_type_ids', 'label'])
    tr, te = enc(train), enc(test)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, num_train_epochs=epochs, per_device_train_batch_size=batch, learning_rate=lr, report_to=[], save_strategy='no',
                                 logging_strategy='no', disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=tr, processing_class=tok)
        t = time.perf_counter(); trainer.train(); fit = time.perf_counter() - t
        t = time.perf_counter(); logits = trainer.predict(te).predictions; pred = time.perf_counter() - t
    proba = np.exp(logits - logits.max(1, keepdims=True)); proba /= proba.sum(1, keepdims=True)
    return dict(train_seconds=fit, predict_seconds=pred, samples=train.num_rows * epochs, test=test.num_rows, max_length=tok.model_max_length,
                macro_f1=evaluate(test['label'], proba, card.label_names)['macro_f1'])


def child(which, task, epochs, batch, lr, n_train, n_test):
    r = (run_synthclf if which == 'synthclf' else run_trainer)(task, epochs, batch, lr, n_train, n_test)
    r['max_rss_gib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print('RESULT ' + json.dumps(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tasks', nargs='+', default=list(SIZES))
    ap.add_argument('--batch-size', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1e-4)
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results'))
    a = ap.parse_args()
    rows = []
    for task in a.tasks:
        n_train, epochs, n_test = SIZES.get(task, (2000, 3, 2000))
        for which in ('synthclf', 'trainer'):
            cmd = [sys.executable, __file__, '--child', which, task, str(epochs), str(a.batch_size), str(a.lr), str(n_train), str(n_test)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            line = [l for l in p.stdout.splitlines() if l.startswith('RESULT ')]
            if not line: sys.exit(f"{which} on {task} failed:\n{p.stderr[-3000:]}")
            r = json.loads(line[0][7:])
            r.update(task=task, runner=which, epochs=epochs, batch_size=a.batch_size, train_samples_per_s=r['samples'] / r['train_seconds'],
                     predictions_per_s=r['test'] / r['predict_seconds'])
            rows.append(r)
            Path(a.out).mkdir(parents=True, exist_ok=True)  # after every row, so a cut-short run keeps what it measured
            (Path(a.out) / 'training.json').write_text(json.dumps({'cores': os.cpu_count(), 'rows': rows}, indent=1))
            print(f"{task:8} {which:9} train {r['train_samples_per_s']:6.1f} samples/s ({r['train_seconds']:.0f}s for {r['samples']})  "
                  f"predict {r['predictions_per_s']:6.1f}/s  macro-F1 {r['macro_f1']:.3f}  max_length {r['max_length']}  peak RSS {r['max_rss_gib']:.2f} GiB", flush=True)
        s, t = rows[-2], rows[-1]
        print(f"{task:8} speed-up  training {s['train_samples_per_s'] / t['train_samples_per_s']:.2f}x, prediction {s['predictions_per_s'] / t['predictions_per_s']:.2f}x")


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        _, _, which, task, epochs, batch, lr, n_train, n_test = sys.argv
        child(which, task, int(epochs), int(batch), float(lr), int(n_train), int(n_test))
    else:
        main()
