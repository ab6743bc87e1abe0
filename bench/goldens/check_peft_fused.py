# Checks an exported LoRA run against PEFT itself: loads the export written with mergeLora=false
# as LlavaForConditionalGeneration, applies its lora-adapter/ folder with PeftModel, merges, and
# compares every language-model weight with the export mmit merged itself (mergeLora=true).
# For fused families (Phi-3) this is what proves the fused adapter (stacked A, block B,
# rank_pattern/alpha_pattern) means to PEFT what our per-part adapters mean to us.
# Usage: python3 bench/goldens/check_peft_fused.py <merged export> <unmerged export>
import sys
import torch
import transformers
from peft import PeftModel

merged_dir, unmerged_dir = sys.argv[1], sys.argv[2]
base = transformers.LlavaForConditionalGeneration.from_pretrained(unmerged_dir, torch_dtype=torch.float32)
peft_merged = PeftModel.from_pretrained(base, f"{unmerged_dir}/lora-adapter").merge_and_unload()
ours = transformers.LlavaForConditionalGeneration.from_pretrained(merged_dir, torch_dtype=torch.float32)
theirs = dict(peft_merged.named_parameters())
original = {n: p.detach().clone() for n, p in transformers.LlavaForConditionalGeneration.from_pretrained(
    unmerged_dir, torch_dtype=torch.float32).named_parameters()}
worst, changed = 0.0, 0
for name, p in ours.named_parameters():
    if "language_model" not in name:
        continue
    q = theirs[name]
    worst = max(worst, ((p - q).abs().max() / q.abs().max()).item())
    changed += int(not torch.equal(q, original[name]))
print(f"language-model weights: {changed} changed by the adapters; "
      f"max relative difference mmit merge vs PEFT merge = {worst:.2e}")
assert changed > 0 and worst < 1e-6, (changed, worst)
