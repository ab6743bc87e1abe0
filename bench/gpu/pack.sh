#!/usr/bin/env bash
# Packs what the GPU machine needs into .device/ (ignored by git; carried by the device tool): the
# node binary (xz), the benches bundled by esbuild into .mjs files (no tsx or workspace resolution
# there), and a flat node_modules holding only the two native packages the bundles leave external:
# onnxruntime-node (linux/x64 binaries only; its webgpu EP is inside libonnxruntime.so) and sharp
# (linux-x64 + libvips). The Vulkan loader debs go to .gl/ (see the device README). Everything that
# travels must stay under 64 MiB. Run from the repo root: bash bench/gpu/pack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
pnpm_dir=node_modules/.pnpm
mkdir -p "$out"

if [ ! -s "$out/node.xz" ]; then xz -T2 -9 -c "$(command -v node)" >"$out/node.xz"; fi

rm -rf "$out/dist"
"$pnpm_dir"/esbuild@*/node_modules/esbuild/bin/esbuild \
  bench/gpu/llava-step-gpu.ts bench/features/clip-b16.ts bench/gpu/placement.ts \
  --bundle --platform=node --format=esm --target=node20 --outdir="$out/dist" --out-extension:.js=.mjs \
  --external:onnxruntime-node --external:sharp --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"

# The flat node_modules: copies with links resolved, one version of each package (delete
# .device/nm.tar.xz to rebuild it after a dependency change).
if [ ! -s "$out/nm.tar.xz" ]; then
stage=$(mktemp -d)
nm="$stage/node_modules"
mkdir -p "$nm/@img" "$nm/onnxruntime-node/bin/napi-v6/linux"
ort="$pnpm_dir/onnxruntime-node@1.30.0/node_modules/onnxruntime-node"
cp -rL "$ort/package.json" "$ort/dist" "$ort/lib" "$nm/onnxruntime-node/"
cp -rL "$ort/bin/napi-v6/linux/x64" "$nm/onnxruntime-node/bin/napi-v6/linux/"
cp -rL "$pnpm_dir/onnxruntime-common@1.30.0/node_modules/onnxruntime-common" "$nm/"
sharp_dir=$(ls -d "$pnpm_dir"/sharp@*/node_modules | head -1)
for p in sharp detect-libc semver @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64; do
  cp -rL "$sharp_dir/$p" "$nm/$p"
done
tar -C "$stage" -cf - node_modules | xz -T2 -6 >"$out/nm.tar.xz"
rm -rf "$stage"
fi
du -sh "$out"/* .gl 2>/dev/null
echo "total that travels in carried paths: $(du -cb "$out" .gl | tail -1 | cut -f1) bytes"
