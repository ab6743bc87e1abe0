# The PyTorch baseline for bench/engine/llava-step.ts: the same LLaVA projector training step in
# plain PyTorch on cpu (no transformers: Debian's python3-torch 1.13 only), written from
# modeling_llama.py: RMSNorm, rotate-half RoPE, GQA by repeating KV heads, eager attention with an
# additive causal+padding mask, SwiGLU, tied or untied head, HF's shifted causal-LM loss. The LM is
# frozen (requires_grad False), the mlp2x_gelu projector trains; loss.backward() computes its grads.
# Reads the checkpoint folder and batch file that the TS bench wrote, so both run identical numbers;
# prints one JSON line per precision: step times, the loss and grad norms (a cross-check of the two
# engines). On cuda (bench/gpu) the precisions are fp32 (TF32 off), tf32, and bf16 (autocast, the
# usual mixed-precision recipe); a `+sdpa` suffix swaps the eager attention for PyTorch's fused
# scaled_dot_product_attention (same math, what a PyTorch user would pick on a GPU).
# Usage: python3 torch_step.py CHECKPOINT_DIR BATCH.safetensors [warmup] [runs] [cpu|cuda] [fp32,tf32,bf16,bf16+sdpa]
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16}


def read_safetensors(path):
    """Minimal safetensors reader (the python package is not installed here)."""
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
        blob = fh.read()
    out = {}
    metadata = header.get("__metadata__", {})
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(blob[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, metadata


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class FrozenLlama:
    def __init__(self, folder, device="cpu"):
        self.cfg = json.load(open(os.path.join(folder, "config.json")))
        self.w, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
        self.w = {k: v.to(device) for k, v in self.w.items()}
        self.device = device
        self.sdpa = False
        c = self.cfg
        self.heads, self.kv = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
        self.hd = c.get("head_dim") or c["hidden_size"] // self.heads
        rope = c.get("rope_parameters") or {}
        theta = rope.get("rope_theta", c.get("rope_theta", 10000.0))
        self.inv_freq = (1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))).to(device)
        self.eps = c["rms_norm_eps"]
        self.head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])

    def p(self, name):
        return self.w["model." + name]

    def loss(self, embeds, mask, labels):
        B, T, _ = embeds.shape
        dev = self.device
        pos = torch.arange(T, device=dev).float()
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool, device=dev))[None, None] & mask.bool()[:, None, None, :]
        bias = torch.zeros(B, 1, T, T, device=dev).masked_fill(~allowed, torch.finfo(torch.float32).min)
        h = embeds
        for i in range(self.cfg["num_hidden_layers"]):
            pre = f"layers.{i}."
            x = rms_norm(h, self.p(pre + "input_layernorm.weight"), self.eps)

            def proj(name, n):
                b = self.w.get("model." + pre + f"self_attn.{name}.bias")
                return torch.nn.functional.linear(x, self.p(pre + f"self_attn.{name}.weight"), b).view(B, T, n, self.hd).transpose(1, 2)

            q, k, v = proj("q_proj", self.heads), proj("k_proj", self.kv), proj("v_proj", self.kv)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            rep = self.heads // self.kv
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
            if self.sdpa:
                attn = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
            else:
                scores = q @ k.transpose(2, 3) / math.sqrt(self.hd) + bias
                attn = torch.softmax(scores, dim=-1) @ v
            attn = attn.transpose(1, 2).reshape(B, T, self.heads * self.hd)
            h = h + torch.nn.functional.linear(attn, self.p(pre + "self_attn.o_proj.weight"))
            x = rms_norm(h, self.p(pre + "post_attention_layernorm.weight"), self.eps)
            gate = torch.nn.functional.silu(torch.nn.functional.linear(x, self.p(pre + "mlp.gate_proj.weight")))
            up = torch.nn.functional.linear(x, self.p(pre + "mlp.up_proj.weight"))
            h = h + torch.nn.functional.linear(gate * up, self.p(pre + "mlp.down_proj.weight"))
        h = rms_norm(h, self.p("norm.weight"), self.eps)
        logits = h @ self.head.t()
        shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
        shift_labels = labels[:, 1:].reshape(-1)
        return torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100)


def main():
    folder, batch_path = sys.argv[1], sys.argv[2]
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    device = sys.argv[5] if len(sys.argv) > 5 else "cpu"
    precisions = (sys.argv[6] if len(sys.argv) > 6 else "fp32").split(",")
    torch.set_num_threads(os.cpu_count() or 1)
    lm = FrozenLlama(folder, device)
    batch, metadata = read_safetensors(batch_path)
    meta = json.loads(metadata["json"])
    image_id = meta["image_token_id"]
    batch = {k: v.to(device) for k, v in batch.items()}
    ids, mask, labels, feats = batch["input_ids"].long(), batch["attention_mask"].long(), batch["labels"].long(), batch["features"]
    proj = {k[len("projector."):]: v.clone().requires_grad_(True) for k, v in batch.items() if k.startswith("projector.")}
    embed = lm.p("embed_tokens.weight")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step(precision):
        for v in proj.values():
            v.grad = None
        with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
            h = torch.nn.functional.linear(feats, proj["linear_1.weight"], proj["linear_1.bias"])
            h = torch.nn.functional.linear(torch.nn.functional.gelu(h), proj["linear_2.weight"], proj["linear_2.bias"])
            emb = embed[ids.clamp(min=0)].clone().to(h.dtype)
            emb[ids == image_id] = h.reshape(-1, h.shape[-1])
            loss = lm.loss(emb, mask, labels)
        loss.backward()
        return loss

    for spec in precisions:
        precision, _, attention = spec.partition("+")
        lm.sdpa = attention == "sdpa"
        if device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.allow_tf32 = precision == "tf32"
            torch.cuda.reset_peak_memory_stats()
        for _ in range(warmup):
            step(precision)
        sync()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            loss = step(precision)
            sync()
            times.append(time.perf_counter() - t0)
        grad_norms = {k: float(v.grad.norm()) for k, v in proj.items()}
        result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": device,
                  "precision": spec, "step_s": times, "loss": float(loss), "grad_norms": grad_norms,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        if device == "cuda":
            result["gpu"] = torch.cuda.get_device_name()
            result["max_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
