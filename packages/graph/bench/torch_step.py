"""PyTorch (CPU, or CUDA with "device": "cuda") reference for bench/train.ts: the same Llama-style decoder as test/support/transformer.ts
(embedding, pre-RMSNorm blocks with RoPE + causal GQA attention and a SwiGLU MLP, final norm, tied
logits, cross entropy with ignore index -100), AdamW with global-norm clipping at 1.0, float32.

Usage: python3 bench/torch_step.py '{"sizes": [...], "reps": 10, "threads": 2, "device": "cpu"}'  -> JSON on stdout.
Needs Debian's python3-torch (apt-get install python3-torch libopenblas0-pthread: with only the reference libblas3 a
SmolLM2-135M-shaped step is several times slower); run with /usr/bin/python3. On CUDA every timed
step ends with loss.item(), which waits for the GPU, so the times are wall-clock step times.
"""
import json
import math
import os
import resource
import sys
import time

# torch.set_num_threads does not reach the OpenBLAS pool (Debian's torch calls OpenBLAS for matmuls), which
# otherwise uses every core: cap it to the same thread count before torch loads the library.
if len(sys.argv) > 1 and "threads" in json.loads(sys.argv[1]):
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(json.loads(sys.argv[1])["threads"]))

import torch
import torch.nn.functional as F


def rope_tables(seq, head_dim, theta=10000.0):
    half = head_dim // 2
    freqs = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / head_dim)
    angles = torch.arange(seq, dtype=torch.float64)[:, None] * freqs[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return torch.cos(angles).float(), torch.sin(angles).float()


def rms_norm(x, gamma, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gamma


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Decoder(torch.nn.Module):
    def __init__(self, vocab, dim, heads, kv_heads, hidden, layers):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, dim // heads
        std = 0.5 / math.sqrt(dim)
        self.embed = torch.nn.Parameter(torch.randn(vocab, dim) / math.sqrt(dim))
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            b = torch.nn.ParameterDict({
                "attn_norm": torch.nn.Parameter(torch.ones(dim)),
                "wq": torch.nn.Parameter(torch.randn(dim, dim) * std),
                "wk": torch.nn.Parameter(torch.randn(dim, kv_heads * self.hd) * std),
                "wv": torch.nn.Parameter(torch.randn(dim, kv_heads * self.hd) * std),
                "wo": torch.nn.Parameter(torch.randn(dim, dim) * std),
                "mlp_norm": torch.nn.Parameter(torch.ones(dim)),
                "w_gate": torch.nn.Parameter(torch.randn(dim, hidden) * std),
                "w_up": torch.nn.Parameter(torch.randn(dim, hidden) * std),
                "w_down": torch.nn.Parameter(torch.randn(hidden, dim) * std),
            })
            self.blocks.append(b)
        self.final_norm = torch.nn.Parameter(torch.ones(dim))

    def layers(self, x, cos, sin, mask, past=None):
        """The decoder blocks over hidden states x [b, t, dim]. cos/sin broadcast to [b, heads, t, head_dim] (RoPE at
        each token's position), mask (True = may attend) to [b, heads, t, s]; past: per block the (k, v) of earlier
        positions [b, kv_heads, s - t, head_dim], prepended (a KV cache). Returns x and every block's full (k, v)."""
        b, t, _ = x.shape
        rep = self.heads // self.kv_heads
        present = []
        for i, p in enumerate(self.blocks):
            h = rms_norm(x, p["attn_norm"])
            q = rope((h @ p["wq"]).view(b, t, self.heads, self.hd).transpose(1, 2), cos, sin)
            k = rope((h @ p["wk"]).view(b, t, self.kv_heads, self.hd).transpose(1, 2), cos, sin)
            v = (h @ p["wv"]).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            present.append((k, v))
            s = k.shape[2]
            k = k[:, :, None].expand(b, self.kv_heads, rep, s, self.hd).reshape(b, self.heads, s, self.hd)
            v = v[:, :, None].expand(b, self.kv_heads, rep, s, self.hd).reshape(b, self.heads, s, self.hd)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            scores = scores.masked_fill(~mask, -1e9)
            att = torch.softmax(scores, dim=-1) @ v
            x = x + att.transpose(1, 2).reshape(b, t, -1) @ p["wo"]
            h2 = rms_norm(x, p["mlp_norm"])
            x = x + (F.silu(h2 @ p["w_gate"]) * (h2 @ p["w_up"])) @ p["w_down"]
        return x, present

    def logits(self, x):
        """Tied LM head over the final norm."""
        return rms_norm(x, self.final_norm) @ self.embed.t()

    def forward(self, tokens, targets, cos, sin, mask):
        b, t = tokens.shape
        x, _ = self.layers(self.embed[tokens], cos, sin, mask)
        logits = self.logits(x)
        return F.cross_entropy(logits.reshape(b * t, -1), targets.reshape(-1), ignore_index=-100)


def bench(entry, reps, device):
    s, bk = entry["size"], entry["bucket"]
    torch.manual_seed(0)
    t_setup = time.perf_counter()
    model = Decoder(s["vocab"], s["dim"], s["heads"], s["kvHeads"], s["hidden"], s["layers"]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    tokens = torch.randint(0, s["vocab"], (bk["batch"], bk["seq"])).to(device)
    targets = torch.randint(0, s["vocab"], (bk["batch"], bk["seq"])).to(device)
    cos, sin = (t.to(device) for t in rope_tables(bk["seq"], s["dim"] // s["heads"]))
    mask = torch.tril(torch.ones(bk["seq"], bk["seq"], dtype=torch.bool)).to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(tokens, targets, cos, sin, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    setup_ms = (time.perf_counter() - t_setup) * 1000
    first_ms = None
    for _ in range(2):
        t0 = time.perf_counter()
        step()
        first_ms = first_ms if first_ms is not None else (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    # ru_maxrss is in KiB on Linux: the process's peak, so with several sizes it is the largest so far.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": entry["name"], "stepMs": times[len(times) // 2], "firstStepMs": first_ms, "setupMs": setup_ms, "peakRssMB": peak_mb}


def main():
    args = json.loads(sys.argv[1])
    device = args.get("device", "cpu")
    torch.set_num_threads(args["threads"])
    rows = [bench(e, args["reps"], device) for e in args["sizes"]]
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else None
    print(json.dumps({"torch": torch.__version__, "device": device, "gpu": gpu, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
