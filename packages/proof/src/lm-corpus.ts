// The text the tiny LM is pretrained on, from the training split only: chat conversations whose
// user turn holds an item's full caption where the picture or clip will later be, followed by an
// instruction (describe it, or one of the task's questions), and the right answer. So the LM
// learns to answer the task's questions from a description in its context; the projector stage
// then has to put an equivalent description there from encoder features alone.
import type { ChatMessage } from '@mmit/models';
import type { TaskPlan } from './generate.js';
import type { LmSequence } from './lm-pretrain.js';

export const DESCRIBE_INSTRUCTION = { image: 'Describe the picture.', audio: 'Describe the sound.' } as const;

/** Conversations (user: description + instruction; assistant: answer) for the training split. */
export function pretrainConversations(plan: TaskPlan): ChatMessage[][] {
  const conversations: ChatMessage[][] = [];
  const chat = (context: string, instruction: string, answer: string) => [
    { role: 'user', content: `${context}\n${instruction}` },
    { role: 'assistant', content: answer },
  ];
  const captionOf = new Map<string, string>();
  for (const item of plan.items) {
    if (item.split !== 'train') continue;
    captionOf.set(`${item.kind}:${item.name}`, item.captions[0]);
    conversations.push(chat(item.captions[0], DESCRIBE_INSTRUCTION[item.kind], item.captions[0]));
  }
  for (const q of plan.questions.train) {
    const caption = captionOf.get(`${q.kind}:${q.file}`);
    if (caption === undefined) throw new Error(`question about ${q.file} has no training item`);
    conversations.push(chat(caption, q.question, q.answer));
  }
  return conversations;
}

export interface ChatEncoder {
  renderChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

/**
 * Targets are the assistant's tokens only (its answer and end of turn), so the small LM spends its
 * capacity on reading the context rather than on predicting random captions.
 */
export function encodeForPretraining(tokenizer: ChatEncoder, conversation: ChatMessage[]): LmSequence {
  const prompt = conversation.slice(0, -1);
  const promptIds = tokenizer.encode(tokenizer.renderChat(prompt, { addGenerationPrompt: true }), {
    addSpecialTokens: false,
  });
  const ids = tokenizer.encode(tokenizer.renderChat(conversation), { addSpecialTokens: false });
  const same = promptIds.every((id, i) => ids[i] === id);
  if (!same) throw new Error('the chat template does not render the prompt as a prefix of the conversation');
  return { ids, labels: ids.map((id, i) => (i < promptIds.length ? -100 : id)) };
}
