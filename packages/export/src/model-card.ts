// The model card (`README.md`) both export folders carry, as the Hub shows it: metadata in YAML
// front matter (base models, library, pipeline tag), then what the model is made of, what it was
// trained on and how, its last metrics, and load code for the folder's library. The Python code is
// what `bench/goldens/check_hf_export.py` runs; the JavaScript code is what the transformers.js
// export test runs (AutoProcessor + LlavaForConditionalGeneration, @huggingface/transformers 4.3).
// The prompt puts the image token first in the user turn, as the run trained
// (@mmit/train's mediaFirstContent).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportParts } from './parts.js';
import type { ExportRun } from './run-source.js';

export interface ModelCardOptions {
  format: 'hf' | 'transformers.js';
  loraMerged: boolean;
}

/** A YAML scalar: plain when safe, else a JSON string (valid YAML). */
const yamlValue = (value: string) => (/^[\w./@-]+$/.test(value) ? value : JSON.stringify(value));

const fmt = (x: number | undefined | null, digits = 4) =>
  x === undefined || x === null ? 'n/a' : Number(x.toPrecision(digits)).toString();

function pythonUsage(run: ExportRun, parts: ExportParts): string {
  return [
    '```python',
    'from PIL import Image',
    'from transformers import AutoProcessor, LlavaForConditionalGeneration',
    '',
    'model = LlavaForConditionalGeneration.from_pretrained("path/to/this/folder")',
    'processor = AutoProcessor.from_pretrained("path/to/this/folder")',
    `messages = [{"role": "user", "content": ${JSON.stringify(`${parts.imageToken}\n`)} + "What is in the picture?"}]`,
    'prompt = processor.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)',
    'inputs = processor(images=Image.open("picture.png"), text=prompt, return_tensors="pt")',
    'output = model.generate(**inputs, max_new_tokens=64, do_sample=False)',
    'print(processor.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))',
    '```',
    '',
    run.lora && !parts.loraMerged
      ? 'The LoRA adapters are not merged: apply `lora-adapter/` with `peft.PeftModel.from_pretrained(model, "path/to/this/folder/lora-adapter")`.'
      : '',
  ].join('\n');
}

function javascriptUsage(parts: ExportParts): string {
  return [
    '```js',
    "import { AutoProcessor, LlavaForConditionalGeneration, RawImage } from '@huggingface/transformers';",
    '',
    "const model = await LlavaForConditionalGeneration.from_pretrained('path/to/this/folder', { dtype: 'fp32' });",
    "const processor = await AutoProcessor.from_pretrained('path/to/this/folder');",
    `const messages = [{ role: 'user', content: ${JSON.stringify(`${parts.imageToken}\n`)} + 'What is in the picture?' }];`,
    'const prompt = processor.tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });',
    "const inputs = await processor(await RawImage.read('picture.png'), prompt);",
    'const output = await model.generate({ ...inputs, max_new_tokens: 64, do_sample: false });',
    'const [, promptLength] = inputs.input_ids.dims;',
    'const answer = processor.batch_decode(output.slice(null, [promptLength, output.dims[1]]), { skip_special_tokens: true })[0];',
    '```',
  ].join('\n');
}

/** The card's text. */
export function modelCard(run: ExportRun, parts: ExportParts, options: ModelCardOptions): string {
  const spec = run.spec;
  const state = run.state;
  const baseModels = [spec.lm.checkpoint, run.encoder.checkpoint];
  const lora = run.lora;
  const data = state?.data;
  const lines = [
    '---',
    `library_name: ${options.format === 'hf' ? 'transformers' : 'transformers.js'}`,
    'pipeline_tag: image-text-to-text',
    'base_model:',
    ...baseModels.map((m) => `  - ${yamlValue(m)}`),
    'tags:',
    '  - mmit',
    '  - llava',
    ...(lora ? ['  - lora'] : []),
    ...(options.format === 'transformers.js' ? ['  - onnx'] : []),
    '---',
    '',
    `# ${spec.name ?? run.runId}`,
    '',
    `A LLaVA-style model trained with mmit (run \`${run.runId}\`, checkpoint at step ${run.step}): the ` +
      `${parts.tower.kind.toUpperCase()} tower's features pass through a trained \`${run.projector.spec.type}\` ` +
      `projector into the language model${lora ? ` with LoRA adapters (${options.loraMerged ? 'merged into its weights' : 'in `lora-adapter/`'})` : ', which stayed frozen'}.`,
    '',
    '## Made of',
    '',
    '| part | source |',
    '|---|---|',
    `| language model | \`${spec.lm.checkpoint}\` (${parts.lm.architecture.hfClass}) |`,
    `| vision encoder | \`${run.encoder.checkpoint}\`, layer ${JSON.stringify(run.encoder.spec.visionFeatureLayer)}, \`${run.encoder.spec.select}\` features |`,
    `| projector | \`${run.projector.spec.type}\`, ${run.projector.spec.inputDim} -> ${run.projector.spec.outputDim} |`,
    `| image token | \`${parts.imageToken}\` (id ${parts.imageTokenId}), ${parts.imageSeqLength} per image |`,
    '',
    '## Data',
    '',
    `Dataset \`${spec.datasetId}\`` +
      (data
        ? `: ${data.train} training and ${data.validation} validation samples; ${data.truncated} truncated, ${data.dropped} dropped` +
          (Object.keys(data.dropReasons).length
            ? ` (${Object.entries(data.dropReasons)
                .map(([reason, n]) => `${reason}: ${n}`)
                .join('; ')})`
            : '')
        : ''),
    '',
    '## Training',
    '',
    '| setting | value |',
    '|---|---|',
    `| steps | ${state?.step ?? run.step}${state?.totalSteps ? ` of ${state.totalSteps}` : ''} |`,
    `| batch size | ${spec.batchSize} x ${spec.gradAccumulation} accumulation |`,
    `| optimizer | AdamW, lr ${spec.optimizer.lr}${spec.optimizer.loraLr ? `, LoRA lr ${spec.optimizer.loraLr}` : ''}, weight decay ${spec.optimizer.weightDecay} |`,
    `| schedule | ${spec.schedule.type} |`,
    ...(lora ? [`| LoRA | rank ${lora.rank}, alpha ${lora.alpha}, on ${lora.targets.join(', ')} |`] : []),
    `| seed | ${spec.seed} |`,
    '',
    '## Metrics',
    '',
    `Training loss at step ${state?.latest?.step ?? 'n/a'}: ${fmt(state?.latest?.loss)}; ` +
      `validation loss at step ${state?.lastEval?.step ?? 'n/a'}: ${fmt(state?.lastEval?.loss)}; ` +
      `${state?.samplesSeen ?? 'n/a'} samples and ${state?.tokensSeen ?? 'n/a'} tokens seen.`,
    '',
    '## Use',
    '',
    options.format === 'hf' ? pythonUsage(run, parts) : javascriptUsage(parts),
    '',
  ];
  return lines.join('\n');
}

/** Writes README.md into `dir`; returns its name. */
export function writeModelCard(
  run: ExportRun,
  parts: ExportParts,
  dir: string,
  options: ModelCardOptions,
): string {
  writeFileSync(join(dir, 'README.md'), modelCard(run, parts, options));
  return 'README.md';
}
