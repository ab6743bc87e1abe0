# The PyTorch baseline for bench/features/clip-b16.ts: the same CLIP vision tower forward in plain
# PyTorch on cpu (Debian's python3-torch 1.13 with OpenBLAS; no transformers), written from
# transformers' modeling_clip.py: conv patches without bias, CLS + position embeddings,
# pre_layrnorm, pre-LN layers with quick_gelu MLPs, and LLaVA's features (hidden_states[layer],
# CLS dropped). Only the layers the features need run, as in the ONNX graph.
# Reads the checkpoint folder and pixel batch that the TS bench wrote, so both run identical numbers;
# prints one JSON line per precision: median seconds per batch, images/s, and the first output
# values (cross-check). On cuda (bench/gpu) the precisions are fp32 (TF32 off), tf32, fp16 and bf16
# (autocast); `+sdpa` swaps the eager attention for scaled_dot_product_attention.
# Usage: python3 torch_vit.py CHECKPOINT_DIR PIXELS.safetensors LAYER [warmup] [runs] [cpu|cuda] [fp32,tf32,fp16,bf16+sdpa]
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    """Minimal safetensors reader (the python package is not installed here)."""
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
        blob = fh.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(blob[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.astype(np.float32).copy())
    return out


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def tower(w, cfg, pixels, layer, sdpa=False):
    d, heads, eps, p = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"], cfg["patch_size"]
    n_layers = cfg["num_hidden_layers"]
    needed = layer if layer >= 0 else n_layers + 1 + layer
    b = pixels.shape[0]
    x = F.conv2d(pixels, w["embeddings.patch_embedding.weight"], stride=p)  # (B, D, g, g)
    x = x.flatten(2).transpose(1, 2)  # (B, N, D)
    cls = w["embeddings.class_embedding"].expand(b, 1, d)
    x = torch.cat([cls, x], dim=1) + w["embeddings.position_embedding.weight"]
    x = F.layer_norm(x, (d,), w["pre_layrnorm.weight"], w["pre_layrnorm.bias"], eps)
    hd = d // heads
    for i in range(needed):
        pre = f"encoder.layers.{i}."
        h = F.layer_norm(x, (d,), w[pre + "layer_norm1.weight"], w[pre + "layer_norm1.bias"], eps)
        q = F.linear(h, w[pre + "self_attn.q_proj.weight"], w[pre + "self_attn.q_proj.bias"]) * hd**-0.5
        k = F.linear(h, w[pre + "self_attn.k_proj.weight"], w[pre + "self_attn.k_proj.bias"])
        v = F.linear(h, w[pre + "self_attn.v_proj.weight"], w[pre + "self_attn.v_proj.bias"])
        t = h.shape[1]
        q, k, v = (z.view(b, t, heads, hd).transpose(1, 2) for z in (q, k, v))
        if sdpa:  # q is already scaled: undo SDPA's own 1/sqrt(hd)
            attn = F.scaled_dot_product_attention(q, k, v, scale=1.0)
        else:
            attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v  # (B, H, T, Dh)
        attn = attn.transpose(1, 2).reshape(b, t, d)
        x = x + F.linear(attn, w[pre + "self_attn.out_proj.weight"], w[pre + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (d,), w[pre + "layer_norm2.weight"], w[pre + "layer_norm2.bias"], eps)
        h = quick_gelu(F.linear(h, w[pre + "mlp.fc1.weight"], w[pre + "mlp.fc1.bias"]))
        x = x + F.linear(h, w[pre + "mlp.fc2.weight"], w[pre + "mlp.fc2.bias"])
    return x[:, 1:]


def main():
    ckpt, pixels_path, layer = sys.argv[1], sys.argv[2], int(sys.argv[3])
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    device = sys.argv[6] if len(sys.argv) > 6 else "cpu"
    precisions = (sys.argv[7] if len(sys.argv) > 7 else "fp32").split(",")
    torch.set_num_threads(os.cpu_count())
    cfg = json.load(open(os.path.join(ckpt, "config.json")))
    w = {k: v.to(device) for k, v in read_safetensors(os.path.join(ckpt, "model.safetensors")).items()}
    pixels = read_safetensors(pixels_path)["pixel_values"].to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for spec in precisions:
        precision, _, attention = spec.partition("+")
        half = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
        if device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.allow_tf32 = precision == "tf32"
        times = []
        with torch.inference_mode(), torch.autocast(device, dtype=half or torch.bfloat16, enabled=half is not None):
            for i in range(warmup + runs):
                sync()
                t0 = time.perf_counter()
                out = tower(w, cfg, pixels, layer, sdpa=attention == "sdpa")
                sync()
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
        times.sort()
        median = times[len(times) // 2]
        result = {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "blas": "openblas" if "openblas" in torch.__config__.show().lower() else "other",
            "device": device,
            "precision": spec,
            "batch": pixels.shape[0],
            "seconds": median,
            "images_per_sec": pixels.shape[0] / median,
            "head": out.float().flatten()[:4096].tolist(),
        }
        if device == "cuda":
            result["gpu"] = torch.cuda.get_device_name()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
