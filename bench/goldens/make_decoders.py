# Golden cases for the decoder families the architecture registry adds beyond Llama/Qwen2
# (packages/models/src/architectures): Qwen3, Gemma 2, Gemma 3 text and Phi-3, made with Hugging
# Face transformers + PyTorch the way ../shared/tools/make_fixtures.py makes the Llama/Qwen2 ones
# (float64 math, float32 storage, the same tokenizer and the same LLaVA projector recipe).
# The tiny configs switch on what makes each family different, at sizes where it shows: sliding
# windows shorter than the sequences, soft-caps low enough that tanh bends, partial rotary, an
# explicit head_dim unlike hidden/heads, a query_pre_attn_scalar unlike head_dim, per-layer rope.
#
# Usage (any machine with torch and transformers>=5; CPU is enough, ~20 s):
#   python3 bench/goldens/make_decoders.py ../shared/fixtures/hf-tiny/tokenizer fixtures/hf-tiny-decoders
# Cases per family F: case_lm_F (forward + loss), case_generate_F (greedy decoding with the KV
# cache, the logits of every step), case_llava_F (projector gradients through the frozen LM).
import json, os, sys
import torch
import transformers
from safetensors.torch import save_file

TOKENIZER_DIR, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
SEED = 4321
torch.manual_seed(SEED)
tok = transformers.AutoTokenizer.from_pretrained(TOKENIZER_DIR)
IMAGE = tok.convert_tokens_to_ids("<image>")
EOS = tok.convert_tokens_to_ids("<|im_end|>")
report = {"transformers": transformers.__version__, "torch": torch.__version__, "made": []}

common = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
              eos_token_id=EOS, pad_token_id=tok.pad_token_id, bos_token_id=None)

FAMILIES = {
    # q/k RMSNorm per head; head_dim 32 although hidden/heads is 16; no q/k/v bias.
    "qwen3": lambda: transformers.Qwen3ForCausalLM(transformers.Qwen3Config(
        **common, head_dim=32, rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # (1 + w) norms, sandwich norms, sqrt(d) embedding scale, GeGLU, attention and final soft-caps,
    # query_pre_attn_scalar, alternating sliding (window 6) and full layers.
    "gemma2": lambda: transformers.Gemma2ForCausalLM(transformers.Gemma2Config(
        **common, head_dim=16, query_pre_attn_scalar=24, sliding_window=6, attn_logit_softcapping=4.0,
        final_logit_softcapping=3.0, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # Gemma 2's body plus q/k norms, no soft-caps, and a rope per layer type (linear-scaled global).
    "gemma3_text": lambda: transformers.Gemma3ForCausalLM(transformers.Gemma3TextConfig(
        **common, head_dim=16, query_pre_attn_scalar=16, sliding_window=6,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})),
    # Fused qkv_proj and gate_up_proj, partial rotary (as Phi-4-mini), sliding window on every layer.
    "phi3": lambda: transformers.Phi3ForCausalLM(transformers.Phi3Config(
        **common, sliding_window=8, rms_norm_eps=1e-5, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5})),
}
CORPUS = ["A brown dog runs across a green field chasing a red ball.",
          "The photo shows a kitchen with white cabinets and a steel sink."]


def tensors_out(path, d, meta):
    save_file({k: v.detach().to(torch.float32 if v.is_floating_point() else torch.int64).contiguous() for k, v in d.items()},
              path, metadata={"json": json.dumps(meta)})


def make(family):
    model = FAMILIES[family]()
    model.config._attn_implementation = "eager"
    with torch.no_grad():  # larger than default init, so that logits and gradients are not all ~0
        for n, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.08)
            elif "norm" in n:
                p.uniform_(0.8, 1.2) if not family.startswith("gemma") else p.normal_(0, 0.2)
            else:
                p.normal_(0, 0.05)
    folder = os.path.join(OUT, f"tiny-{family}")
    model.eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return model.double()


def lm_case(family, m):
    ids = [tok(t)["input_ids"] + [EOS] for t in CORPUS]
    T = max(len(x) for x in ids)
    input_ids = torch.full((2, T), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros((2, T), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    labels = input_ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        out = m(input_ids=input_ids, attention_mask=mask, labels=labels)
    tensors_out(os.path.join(OUT, f"case_lm_{family}.safetensors"),
                {"input_ids": input_ids, "attention_mask": mask, "labels": labels, "logits": out.logits, "loss": out.loss.reshape(1)},
                {"kind": "lm_forward", "model": f"tiny-{family}", "texts": CORPUS,
                 "note": "right-padded batch; compare logits where attention_mask==1; loss is HF causal-LM mean over labels!=-100 after shifting"})


def generate_case(family, m, new_tokens=10):
    prompt = tok("Describe the image in detail. What is happening in this picture?")["input_ids"]
    input_ids = torch.tensor([prompt])
    with torch.no_grad():
        out = m.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                         max_new_tokens=new_tokens, min_new_tokens=new_tokens, output_logits=True,
                         return_dict_in_generate=True, use_cache=True, pad_token_id=tok.pad_token_id)
    generated = out.sequences[:, len(prompt):]
    logits = torch.stack([l[0] for l in out.logits], 0)  # (steps, V): the logits each token was chosen from
    tensors_out(os.path.join(OUT, f"case_generate_{family}.safetensors"),
                {"input_ids": input_ids, "generated": generated, "step_logits": logits},
                {"kind": "lm_generate", "model": f"tiny-{family}", "new_tokens": new_tokens,
                 "note": "greedy decoding with the KV cache (prefill, then one token per step); step_logits[i] "
                         "is the last position's logits that chose generated[i]; the prompt is longer than the "
                         "sliding windows, so cached decoding has to honour them"})


def llava_case(family, m):
    for p in m.parameters():
        p.requires_grad_(False)
    dl, n, dv = m.config.hidden_size, 16, 64
    g = torch.Generator().manual_seed(SEED + 7)
    feats = torch.randn(2, n, dv, dtype=torch.float64, generator=g)
    proj = {"linear_1.weight": torch.randn(dl, dv, generator=g, dtype=torch.float64) * 0.1,
            "linear_1.bias": torch.randn(dl, generator=g, dtype=torch.float64) * 0.02,
            "linear_2.weight": torch.randn(dl, dl, generator=g, dtype=torch.float64) * 0.1,
            "linear_2.bias": torch.randn(dl, generator=g, dtype=torch.float64) * 0.02}
    proj = {k: v.requires_grad_(True) for k, v in proj.items()}
    # Rows of equal length: in float64, transformers' eager attention turns a padded query that its
    # sliding window leaves no key into NaN (the float64 mask minimum is -inf after the float32
    # softmax upcast), which would poison the reference gradients.
    prompts = [("", "\nWhat is shown?\n"), ("<|im_start|>user\n", "\nDescribe it.<|im_end|>\n")]
    answers = ["A cat sleeps on a windowsill next to a potted plant.", "A brown dog runs across a green field."]
    seqs, labs = [], []
    for (pre, post), ans in zip(prompts, answers):
        a = tok(pre)["input_ids"] if pre else []
        b = tok(post)["input_ids"]
        c = tok(ans)["input_ids"] + [EOS]
        seqs.append(a + [IMAGE] * n + b + c)
        labs.append([-100] * (len(a) + n + len(b)) + c)
    T = max(len(s) for s in seqs)
    assert T - min(len(s) for s in seqs) < 5, [len(s) for s in seqs]
    ids = torch.full((2, T), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros((2, T), dtype=torch.long)
    labels = torch.full((2, T), -100, dtype=torch.long)
    for i, (s, l) in enumerate(zip(seqs, labs)):
        ids[i, :len(s)], mask[i, :len(s)], labels[i, :len(l)] = torch.tensor(s), 1, torch.tensor(l)
    h = torch.nn.functional.linear(feats, proj["linear_1.weight"], proj["linear_1.bias"])
    h = torch.nn.functional.linear(torch.nn.functional.gelu(h), proj["linear_2.weight"], proj["linear_2.bias"])
    emb = m.get_input_embeddings()(ids).clone()  # Gemma's scaled embedding: image rows are placed unscaled
    emb[ids == IMAGE] = h.reshape(-1, dl)
    out = m(inputs_embeds=emb, attention_mask=mask, labels=labels)
    out.loss.backward()
    assert not any(v.grad.isnan().any() for v in proj.values()), family
    d = {"features": feats, "input_ids": ids, "attention_mask": mask, "labels": labels,
         "loss": out.loss.detach().reshape(1), "logits": out.logits.detach()}
    for k, v in proj.items():
        d["projector." + k] = v.detach()
        d["grad.projector." + k] = v.grad
    tensors_out(os.path.join(OUT, f"case_llava_{family}.safetensors"), d,
                {"kind": "llava_projector_step", "lm": f"tiny-{family}", "image_token": "<image>", "image_token_id": IMAGE,
                 "projector": "mlp2x_gelu",
                 "note": "each <image> id is replaced, in order, by one projected feature row (after the LM's own "
                         "embedding of the text tokens); loss and projector gradients with the LM frozen"})


for family in FAMILIES:
    model = make(family)
    lm_case(family, model)
    generate_case(family, model)
    llava_case(family, model)
    report["made"].append(family)
    print("made", family, flush=True)
with open(os.path.join(OUT, "REPORT.json"), "w") as fh:
    json.dump(report, fh, indent=1)
