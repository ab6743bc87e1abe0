#!/usr/bin/env bash
# The GPU benchmarks in one go, on the device machine (carry .device and .gl; see pack.sh):
#   1. the LLaVA stage-1 projector step (bench/gpu/llava-step-gpu.ts) on webgpu, fp16 then fp32,
#      against PyTorch on cuda (fp32, tf32, bf16, bf16+sdpa) in the same run, verbose placement log;
#   2. the CLIP ViT-B/16 @224 tower (bench/features/clip-b16.ts) on webgpu fp16 (against PyTorch on
#      cuda: fp32, tf32, fp16, fp16+sdpa) and fp32, plus a placement log of each.
# Each stage has its own time limit so one hang does not take the later ones with it. Logs go to
# $OUT (at most 8 files come back): env.txt, step.log, step.stderr.xz, clip.log, clip.stderr.xz,
# placement.txt, run.log.
# STAGES (default "step clip") picks the stages; STEP_VERBOSE=0 times the step without the verbose
# log (webgpu writes one INFO line per dispatched kernel at that level, ~3,500 per step).
# Rehearsal on a machine without a GPU: MODE=rehearse OUT=/tmp/out bash bench/gpu/run.sh
# (cpu provider, tiny shapes, /usr/bin/python3's torch on cpu, no Vulkan debs unpacked).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/mmit-gpu-out}
MODE=${MODE:-device}
W=${WORK:-/tmp/mmit-gpu}
mkdir -p "$OUT" "$W"
exec > >(tee "$OUT/run.log") 2>&1
t0=$(date +%s)
stamp() { echo "--- [$(($(date +%s) - t0)) s] $*"; }

if [ "$MODE" = device ]; then
  EP=webgpu PY=python3 TORCH_DEVICE=cuda
  STEP_ARGS=(--runs 3)
  CLIP_ARGS=(--batch 32 --runs 5)
  STEP_TORCH=fp32,tf32,bf16,bf16+sdpa
  CLIP_TORCH=fp32,tf32,fp16,fp16+sdpa
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
else
  EP=cpu PY=/usr/bin/python3 TORCH_DEVICE=cpu
  STEP_ARGS=(--runs 1 --batch 2 --image-tokens 8 --text-tokens 8)
  CLIP_ARGS=(--batch 2 --runs 1)
  STEP_TORCH=fp32
  CLIP_TORCH=fp32
fi

stamp "unpacking node and node_modules into $W"
xz -dc .device/node.xz >"$W/node" && chmod +x "$W/node"
xz -dc .device/nm.tar.xz | tar -C "$W" -xf -
rm -rf "$W/dist" && cp -r .device/dist "$W/dist"
cp bench/features/torch_vit.py "$W/dist/features/"
: >"$W/clip.stderr"
: >"$W/step.stderr"
NODE="$W/node"

{
  echo "mode $MODE, ep $EP"
  uname -a
  "$NODE" --version
  nvidia-smi -L 2>&1
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
  "$PY" -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' 2>&1
  ldconfig -p | grep -i vulkan
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  nproc
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

STAGES=${STAGES:-step clip}
VERBOSE_FLAG=(--verbose-placement)
[ "${STEP_VERBOSE:-1}" = 0 ] && VERBOSE_FLAG=()

if [[ " $STAGES " == *" step "* ]]; then
stamp "stage 1: LLaVA stage-1 step on $EP (fp16, fp32) vs PyTorch $TORCH_DEVICE"
timeout -k 5 "${STEP_TIMEOUT:-200}" "$NODE" "$W/dist/gpu/llava-step-gpu.mjs" --ep "$EP" --dtypes fp16,fp32 \
  "${STEP_ARGS[@]}" --python "$PY" --torch-device "$TORCH_DEVICE" --torch-precisions "$STEP_TORCH" \
  --torch-script bench/engine/torch_step.py "${VERBOSE_FLAG[@]}" >"$OUT/step.log" 2>"$W/step.stderr"
echo "exit $?" >>"$OUT/step.log"
cat "$OUT/step.log"
fi

if [[ " $STAGES " == *" clip "* ]]; then
stamp "stage 2: CLIP ViT-B/16 placement (fp16, fp32)"
for dtype in fp16 fp32; do
  echo "=== placement: clip-b16 $EP $dtype" >>"$W/clip.stderr"
  timeout -k 5 30 "$NODE" "$W/dist/features/clip-b16.mjs" --ep "$EP" --dtype "$dtype" --placement-only \
    >>"$OUT/clip.log" 2>>"$W/clip.stderr"
done

stamp "stage 3: CLIP ViT-B/16 on $EP fp16 vs PyTorch $TORCH_DEVICE, then fp32"
timeout -k 5 "${CLIP_TIMEOUT:-75}" "$NODE" "$W/dist/features/clip-b16.mjs" --ep "$EP" --dtype fp16 "${CLIP_ARGS[@]}" \
  --python "$PY" --torch-device "$TORCH_DEVICE" --torch-precisions "$CLIP_TORCH" >>"$OUT/clip.log" 2>>"$W/clip.stderr"
echo "exit $?" >>"$OUT/clip.log"
timeout -k 5 45 "$NODE" "$W/dist/features/clip-b16.mjs" --ep "$EP" --dtype fp32 "${CLIP_ARGS[@]}" --no-torch \
  >>"$OUT/clip.log" 2>>"$W/clip.stderr"
echo "exit $?" >>"$OUT/clip.log"
cat "$OUT/clip.log"
fi

stamp "placement summary"
"$NODE" "$W/dist/gpu/placement.mjs" "$W/step.stderr" "$W/clip.stderr" >"$OUT/placement.txt" 2>&1
cat "$OUT/placement.txt"
# The raw logs, compressed (verbose logs of a 4,500-node graph run to tens of MB).
xz -T4 -6 -c "$W/step.stderr" >"$OUT/step.stderr.xz"
xz -T4 -6 -c "$W/clip.stderr" >"$OUT/clip.stderr.xz"
grep -h -i -E "error|fail|abort" "$W/step.stderr" "$W/clip.stderr" | grep -v -E "\[(V|I):onnxruntime" | cut -c1-300 | sort | uniq -c | sort -rn | head -20
stamp "done"
