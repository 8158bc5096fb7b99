"""How far the int8 engine's next-token distributions are from float32 compute on the same weights (run by hand; not a test).

    nice -n 5 .venv/bin/python benchmarks/int8_fidelity.py [--models qwen2.5-coder-0.5b-instruct smollm2-135m-instruct] [--per-case 4]

For each model: `generate()`-style requests (ag_news, sms_spam and tweet_irony, zero- and few-shot, `--per-case` each) are answered
by the float32 engine; then each prompt + answer is scored teacher-forced, one sequence at a time, by the float32 model (the
reference), the model in bf16, and int8 (`quantize_linears`): all linear layers but the output layer, and all of them (the local
backend's int8 engine). Per engine, over the answers' tokens: the mean KL
divergence from the reference's next-token distribution, the share of positions whose most likely token is the reference's, and the
change in the answers' mean negative log-likelihood; each with a 95% bootstrap interval over the answers (2,000 resamples).
Writes `benchmarks/results/int8_fidelity.{json,md}`.
"""
import argparse, json, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
CASES = [(t, m) for t in ('ag_news', 'sms_spam', 'tweet_irony') for m in ('zero_shot', 'few_shot')]


def requests(per_case):
    "`per_case` requests per task and mode, built as `generate()` builds them (labels in turn)."
    from synthclf.data import load_task
    from synthclf.generate import request_for
    from synthclf.tasks import get_card
    out = []
    for task, mode in CASES:
        card = get_card(task)
        train = load_task(card)[1]['train']
        for i in range(per_case):
            lid = i % len(card.label_names)
            out.append(request_for(card, card.label_names[lid], lid, i, mode, 0, train, 3, dict(temperature=1.0, top_p=0.95, max_new_tokens=96))[0])
    return out


def answer_logprobs(lm, seqs):
    "Per (prompt, answer) token lists: the model's log-softmax at each answer position, in float32."
    import torch
    out = []
    with torch.inference_mode():
        for p, a in seqs:
            logits = lm(input_ids=torch.tensor([p + a])).logits[0, len(p) - 1:len(p) + len(a) - 1].float()
            out.append(logits.log_softmax(-1))
    return out


def compare(ref, lps, seqs, n_boot=2000, seed=0):
    "Per-answer means of KL, top-1 agreement and NLL change; their means over answers with 95% bootstrap intervals."
    import numpy as np, torch
    per = []
    for r, q, (_, a) in zip(ref, lps, seqs):
        kl = (r.exp() * (r - q)).sum(-1)
        t = torch.tensor(a)[:, None]
        per.append((float(kl.mean()), float((r.argmax(-1) == q.argmax(-1)).float().mean()),
                    float((r.gather(1, t) - q.gather(1, t)).mean()), len(a)))
    per = np.array(per)
    rng = np.random.default_rng(seed)
    boots = per[rng.integers(0, len(per), (n_boot, len(per)))][..., :3].mean(1)
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
    names = ('kl', 'top1', 'nll_change')
    return {**{k: round(float(per[:, j].mean()), 5) for j, k in enumerate(names)},
            **{f'{k}_ci': [round(float(lo[j]), 5), round(float(hi[j]), 5)] for j, k in enumerate(names)},
            'answers': len(per), 'tokens': int(per[:, 3].sum())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', nargs='*', default=['qwen2.5-coder-0.5b-instruct', 'smollm2-135m-instruct'])
    ap.add_argument('--per-case', type=int, default=4)
    ap.add_argument('--out', default='benchmarks/results')
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    import torch
    from transformers import AutoModelForCausalLM
    from synthclf.engine import quantize_linears
    from synthclf.llm import LocalBackend
    from synthclf.models import resolve_model
    reqs, res = requests(args.per_case), {}
    for name in args.models:
        t = time.perf_counter()
        f32 = LocalBackend(name, dtype='float32')
        answers = f32.complete(reqs)
        seqs = [(f32.tok(f32.tok.apply_chat_template(r.as_openai(), add_generation_prompt=True, tokenize=False), add_special_tokens=False)['input_ids'],
                 f32.tok(c.text, add_special_tokens=False)['input_ids']) for r, c in zip(reqs, answers)]
        seqs = [(p, a) for p, a in seqs if a]
        del f32
        load = lambda dt: AutoModelForCausalLM.from_pretrained(resolve_model(name), dtype=dt).eval()
        ref = answer_logprobs(load(torch.float32), seqs)
        q8, h8 = load(torch.float32), load(torch.float32)
        quantize_linears(q8); quantize_linears(h8, output_layer=True)
        res[name] = {'bfloat16': compare(ref, answer_logprobs(load(torch.bfloat16), seqs), seqs),
                     'int8': compare(ref, answer_logprobs(q8, seqs), seqs), 'int8, output layer too': compare(ref, answer_logprobs(h8, seqs), seqs),
                     'seconds': round(time.perf_counter() - t)}
        print(name, json.dumps(res[name]), flush=True)
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    (out/'int8_fidelity.json').write_text(json.dumps(res, indent=1))
    md = ['# The int8 engine against float32 compute on the same weights', '',
          f'`benchmarks/int8_fidelity.py --per-case {args.per_case}`: answers the float32 engine wrote for ag_news, sms_spam and tweet_irony '
          '(zero- and few-shot), scored teacher-forced. Means over answers, 95% bootstrap intervals in brackets.', '',
          '| model | engine | answers | tokens | KL from float32 (nats/token) | same top token | change in NLL (nats/token) |', '|---|---|---|---|---|---|---|']
    for name, r in res.items():
        for eng in ('bfloat16', 'int8', 'int8, output layer too'):
            s = r[eng]
            md.append(f"| {name} | {eng} | {s['answers']} | {s['tokens']} | {s['kl']:.4f} [{s['kl_ci'][0]:.4f}, {s['kl_ci'][1]:.4f}] | "
                      f"{s['top1']:.1%} [{s['top1_ci'][0]:.1%}, {s['top1_ci'][1]:.1%}] | "
                      f"{s['nll_change']:+.4f} [{s['nll_change_ci'][0]:+.4f}, {s['nll_change_ci'][1]:+.4f}] |")
    (out/'int8_fidelity.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
