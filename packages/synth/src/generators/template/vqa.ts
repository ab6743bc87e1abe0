// `vqa` samples: one short-answer question each (LLaVA-1.5's VQA format: the question, then the
// response-format prompt; the answer a bare word or phrase). The item's questions are shuffled
// once per (seed, item), and sample i takes the i-th, so an item's vqa samples never repeat a
// question. Both generators use this: the answers are facts, no model writes them.
import type { Draft } from '../../draft.js';
import type { SceneFacts } from '../../nlp/facts.js';
import { createRng } from '../../random.js';
import { VQA_FORMAT_PROMPT, vqaQuestionsOf } from '../../vqa.js';
import type { GenerateResult } from '../types.js';

export function vqaResult(facts: SceneFacts, key: string, seed: number, index: number): GenerateResult {
  const questions = vqaQuestionsOf(facts);
  if (index >= questions.length) {
    return {
      ok: false,
      reason: 'nothing_to_ask',
      detail:
        questions.length === 0
          ? 'the captions state nothing a short-answer question can ask about (no placed things, counts or narrated qualities)'
          : `the captions support ${questions.length} distinct short-answer questions; vqa sample ${index + 1} has none left`,
    };
  }
  const order = createRng(seed, key, 'vqa', 'order').sample(questions, questions.length);
  const { question, answer } = order[index];
  const draft: Draft = {
    kind: 'vqa',
    index,
    turns: [{ question: `${question}\n${VQA_FORMAT_PROMPT}`, answer, pooled: true }],
  };
  return { ok: true, draft };
}
