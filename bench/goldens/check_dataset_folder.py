# Reads a folder written by `mmit dataset export <id> --folder <dir>` the way the two trainers do:
# - LLaMA-Factory: dataset_info.json entries (parser.py's keys), each file loaded with
#   datasets.load_dataset("json") as its loader does for local files, then its ShareGPT converter's
#   rules: roles alternate human/gpt starting with human, an even number of turns, media paths
#   resolved against the dataset dir (its default media_dir) and existing, and as many <image> /
#   <audio> placeholders in the turns as paths (its mm_plugin checks this);
# - LLaVA (train.py LazySupervisedDataset): json.load of llava_<split>.json, `image` joined to
#   --image_folder and opened with PIL, "<image>" in the first human turn.
# Usage: python3 bench/goldens/check_dataset_folder.py <dir>
import json, os, sys
import datasets
from PIL import Image

root = sys.argv[1]
info = json.load(open(os.path.join(root, "dataset_info.json")))
for name, attr in info.items():
    assert attr["formatting"] == "sharegpt", attr
    cols, tags = attr["columns"], attr["tags"]
    ds = datasets.load_dataset("json", data_files=os.path.join(root, attr["file_name"]), split="train")
    images = audios = 0
    for ex in ds:
        turns = ex[cols["messages"]]
        assert len(turns) % 2 == 0 and len(turns) > 0, turns
        for i, t in enumerate(turns):
            assert t[tags["role_tag"]] == (tags["user_tag"] if i % 2 == 0 else tags["assistant_tag"]), turns
        text = "".join(t[tags["content_tag"]] for t in turns)
        for column, placeholder in (("images", "<image>"), ("audios", "<audio>")):
            paths = ex[cols[column]] or []
            assert text.count(placeholder) == len(paths), (placeholder, text, paths)
            for p in paths:
                assert os.path.isfile(os.path.join(root, p)), p
        for p in ex[cols["images"]] or []:
            Image.open(os.path.join(root, p)).convert("RGB")
            images += 1
        audios += len(ex[cols["audios"]] or [])
    print(f"LLaMA-Factory {name}: {len(ds)} samples read by datasets {datasets.__version__}; {images} images opened, {audios} audio paths present")
for split in ("train", "validation"):
    path = os.path.join(root, f"llava_{split}.json")
    if not os.path.exists(path):
        continue
    records = json.load(open(path))
    opened = 0
    for r in records:
        assert r["conversations"][0]["from"] == "human"
        if "image" in r:
            assert "<image>" in r["conversations"][0]["value"], r
            Image.open(os.path.join(root, r["image"])).convert("RGB")
            opened += 1
    print(f"LLaVA llava_{split}.json: {len(records)} records, {opened} images opened from --image_folder {root}")
