"""PyTorch (CPU) reference for bench/rl-vs-torch.ts: one GRPO-style RL step of the same decoder, at the shapes the
ORT trainer ran. Rollout: the distinct prompts left-padded and prefilled once each, their KV cache repeated for the
group, then batched KV-cache decoding of `newTokens` tokens per completion, sampled at temperature 1 with
torch.multinomial (no stop token, as in the ORT run). Update: one AdamW step (global-norm clipping at 1.0) of the
token-aggregated clipped surrogate ("clip": ε low / high, default the trainer's 0.2 / 0.28; old log-probs = the sampler's, per-completion advantages) over
prompt + completion rows, in exactly the ORT run's micro-batches (members, padded rows and bucket length), the
vocabulary-wide log-softmax over every position, or, when the ORT run had a head window, at the completion positions
only (as TRL's logits_to_keep). Decoder: packages/graph/bench/torch_step.py
(the same Llama-style model, float32, no q/k/v bias).

Usage: /usr/bin/python3 bench/torch_rl_step.py '{"size": {...}, "threads": 2, "steps": 4, "group": 4,
  "newTokens": 32, "prompts": [[ids...], ...], "micro": [{"members": [...], "rows": R, "length": L}, ...],
  "advantages": [...], "pad": 0[, "blasThreads": B]}'  -> JSON on stdout. rl-vs-torch.ts writes this input as
  "torchInput" into its results JSON, so a PyTorch variant can be rerun alone.
"""
import importlib.util
import json
import os
import resource
import sys
import time

# torch.set_num_threads does not reach Debian's OpenBLAS pool: size it before torch loads the library
# ("blasThreads", default "threads").
if len(sys.argv) > 1:
    _args = json.loads(sys.argv[1])
    if "threads" in _args:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_args.get("blasThreads", _args["threads"])))

import torch

_spec = importlib.util.spec_from_file_location(
    "torch_step", os.path.join(os.path.dirname(__file__), "..", "..", "graph", "bench", "torch_step.py")
)
torch_step = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_step)


def peak_mib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rope_at(cos, sin, positions):
    """RoPE rows at positions [b, t] as [b, 1, t, head_dim] (broadcast over heads)."""
    return cos[positions][:, None], sin[positions][:, None]


@torch.no_grad()
def rollout(model, prompts, group, new_tokens, cos, sin, generator):
    """Sample `group` completions of `new_tokens` tokens per prompt; returns tokens and log-probs [P * group, T]."""
    p = len(prompts)
    width = max(len(x) for x in prompts)
    pads = [width - len(x) for x in prompts]
    ids = torch.tensor([[0] * pad + x for pad, x in zip(pads, prompts)])
    valid = torch.tensor([[False] * pad + [True] * len(x) for pad, x in zip(pads, prompts)])
    positions = (torch.arange(width)[None, :] - torch.tensor(pads)[:, None]).clamp(min=0)
    causal = torch.tril(torch.ones(width, width, dtype=torch.bool))
    c, s = rope_at(cos, sin, positions)
    x, cache = model.layers(model.embed[ids], c, s, causal[None, None] & valid[:, None, None, :])
    logits = model.logits(x[:, -1]).repeat_interleave(group, dim=0)
    cache = [(k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0)) for k, v in cache]
    valid = valid.repeat_interleave(group, dim=0)
    lengths = torch.tensor([len(x) for x in prompts]).repeat_interleave(group)
    tokens, logps = [], []
    for j in range(new_tokens):
        logp = torch.log_softmax(logits, dim=-1)
        token = torch.multinomial(logp.exp(), 1, generator=generator)
        tokens.append(token)
        logps.append(logp.gather(1, token))
        if j == new_tokens - 1:
            break
        valid = torch.cat([valid, torch.ones(valid.shape[0], 1, dtype=torch.bool)], dim=1)
        c, s = rope_at(cos, sin, (lengths + j)[:, None])
        x, cache = model.layers(model.embed[token], c, s, valid[:, None, None, :], past=cache)
        logits = model.logits(x[:, -1])
    return torch.cat(tokens, dim=1), torch.cat(logps, dim=1)


def update(model, opt, prompts, group, tokens, old_logps, advantages, micro, pad, cos, sin, clip):
    """One optimizer step of the token-aggregated clipped surrogate over the ORT run's micro-batches."""
    rows = [list(prompts[i // group]) + tokens[i].tolist() for i in range(tokens.shape[0])]
    completion = tokens.shape[1]
    total = completion * sum(len(m["members"]) for m in micro)
    opt.zero_grad(set_to_none=True)
    loss_sum = 0.0
    for m in micro:
        n, length = m["rows"], m["length"]
        inputs = torch.full((n, length), pad, dtype=torch.long)
        targets = torch.full((n, length), pad, dtype=torch.long)
        mask = torch.zeros(n, length)
        old = torch.zeros(n, length)
        adv = torch.zeros(n, 1)
        for r, i in enumerate(m["members"]):
            seq = rows[i]
            inputs[r, : len(seq) - 1] = torch.tensor(seq[:-1])
            targets[r, : len(seq) - 1] = torch.tensor(seq[1:])
            start = len(seq) - 1 - completion
            mask[r, start : len(seq) - 1] = 1
            old[r, start : len(seq) - 1] = old_logps[i]
            adv[r, 0] = advantages[i]
        c, s = cos[:length], sin[:length]
        causal = torch.tril(torch.ones(length, length, dtype=torch.bool))
        x, _ = model.layers(model.embed[inputs], c, s, causal)
        window = m.get("window")
        if window is not None:
            # The head at the ORT run's window only (as TRL's logits_to_keep): `window` positions from each row's
            # first completion target, moved back inside the row when it would run past it (Batches.scoredWindow).
            starts = [len(rows[i]) - 1 - completion for i in m["members"]] + [0] * (n - len(m["members"]))
            at = torch.tensor([[min(st, length - window) + k for k in range(window)] for st in starts])
            x = x.gather(1, at[..., None].expand(n, window, x.shape[-1]))
            targets, mask, old = (t.gather(1, at) for t in (targets, mask, old))
        logp = torch.log_softmax(model.logits(x), dim=-1).gather(2, targets[..., None])[..., 0]
        ratio = torch.exp(logp - old)
        surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - clip[0], 1 + clip[1]) * adv)
        loss = -(surrogate * mask).sum() / total
        loss.backward()
        loss_sum += loss.item()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss_sum


def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])
    s = args["size"]
    torch.manual_seed(0)
    t_setup = time.perf_counter()
    model = torch_step.Decoder(s["vocab"], s["dim"], s["heads"], s["kvHeads"], s["hidden"], s["layers"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.01)
    longest = max(len(x) for x in args["prompts"]) + args["newTokens"]
    longest = max(longest, max(m["length"] for m in args["micro"]))
    cos, sin = torch_step.rope_tables(longest, s["dim"] // s["heads"], s.get("ropeTheta", 10000.0))
    setup_ms = (time.perf_counter() - t_setup) * 1000
    generator = torch.Generator().manual_seed(0)
    steps = []
    peak_after_rollout = 0.0
    for _ in range(args["steps"]):
        t0 = time.perf_counter()
        tokens, logps = rollout(model, args["prompts"], args["group"], args["newTokens"], cos, sin, generator)
        t1 = time.perf_counter()
        if not steps:
            peak_after_rollout = peak_mib()
        loss = update(model, opt, args["prompts"], args["group"], tokens, logps, args["advantages"], args["micro"], args["pad"], cos, sin, args.get("clip", [0.2, 0.28]))
        t2 = time.perf_counter()
        steps.append({"rolloutMs": (t1 - t0) * 1000, "updateMs": (t2 - t1) * 1000, "loss": loss})
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "blasThreads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
                "setupMs": setup_ms,
                "steps": steps,
                "peakAfterRolloutMiB": peak_after_rollout,
                "peakMiB": peak_mib(),
            }
        )
    )


if __name__ == "__main__":
    main()
