# Loads mmit's Hugging Face LLaVA exports in transformers and checks them against our engine:
# the logits of LlavaForConditionalGeneration on the prompt and pixels export-reference.ts used
# (max relative difference to ours), then runs the model card's own Python code on a picture.
# Usage: npx tsx bench/goldens/export-reference.ts /tmp/x && python3 bench/goldens/check_hf_export.py /tmp/x <picture.png>
import json, glob, os, sys
import torch
import transformers
from PIL import Image

out, picture = sys.argv[1], sys.argv[2]
for ref_path in sorted(glob.glob(os.path.join(out, "*.reference.json"))):
    ref = json.load(open(ref_path))
    folder = ref["folder"]
    model = transformers.LlavaForConditionalGeneration.from_pretrained(folder, torch_dtype=torch.float32).eval()
    ids = torch.tensor([ref["input_ids"]])
    pixels = torch.tensor(ref["pixel_values"]["data"], dtype=torch.float32).reshape(ref["pixel_values"]["dims"])
    with torch.no_grad():
        logits = model(input_ids=ids, pixel_values=pixels, attention_mask=torch.ones_like(ids)).logits
    ours = torch.tensor(ref["logits"]["data"]).reshape(ref["logits"]["dims"])
    err = ((logits - ours).abs().max() / ours.abs().max()).item()
    # The model card's code, as written there (folder and picture filled in).
    card = open(os.path.join(folder, "README.md")).read()
    code = card.split("```python\n")[1].split("```")[0]
    code = code.replace("path/to/this/folder", folder).replace("picture.png", picture).replace("print(", "answer = (")
    scope = {}
    exec(code, scope)
    print(f"{os.path.basename(folder)}: transformers {transformers.__version__} logits vs mmit max relative difference {err:.2e}; "
          f"model card code ran, answer {scope['answer']!r}")
    assert err < 1e-4, err
