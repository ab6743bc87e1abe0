// The text the tiny LM is pretrained on, from the training split only: chat conversations whose
// user turn holds an item's compact description where the picture or clip will later be, followed
// by an instruction (describe it, or one of the task's questions), and the right answer. So the LM
// learns to answer the task's questions from a description in its context; the projector stage
// then has to put an equivalent description there from encoder features alone.
// The description is compact and regular ("top_left green star , center red circle"; "high low")
// rather than the prose caption: measured, a 2-layer LM answers the audio questions from it
// perfectly where the prose caption gave 0.72, and every answer word sits next to its key.
import type { ChatMessage } from '@mmit/models';
import type { PlannedItem, TaskPlan } from './generate.js';
import type { LmSequence } from './lm-pretrain.js';
import { positionName } from './questions.js';

export const DESCRIBE_INSTRUCTION = { image: 'Describe the picture.', audio: 'Describe the sound.' } as const;

/**
 * One place word per shape (`top_left`: one token, so a colour or shape token needs to look back
 * one step to know where it is), then colour and shape; beeps as their pitches in order.
 */
export function compactDescription(item: Pick<PlannedItem, 'name' | 'scene' | 'clip'>): string {
  if (item.scene) {
    return item.scene.shapes
      .map((s) => `${positionName(s).replace(' ', '_')} ${s.colour} ${s.shape}`)
      .join(' , ');
  }
  if (item.clip) return item.clip.beeps.map((b) => b.pitch).join(' ');
  throw new Error(`item ${item.name} has neither a scene nor a clip to describe`);
}

/** Conversations (user: description + instruction; assistant: answer) for the training split. */
export function pretrainConversations(plan: TaskPlan): ChatMessage[][] {
  const conversations: ChatMessage[][] = [];
  const chat = (context: string, instruction: string, answer: string) => [
    { role: 'user', content: `${context}\n${instruction}` },
    { role: 'assistant', content: answer },
  ];
  const descriptionOf = new Map<string, string>();
  for (const item of plan.items) {
    if (item.split !== 'train') continue;
    const description = compactDescription(item);
    descriptionOf.set(`${item.kind}:${item.name}`, description);
    conversations.push(chat(description, DESCRIBE_INSTRUCTION[item.kind], description));
  }
  for (const q of plan.questions.train) {
    const description = descriptionOf.get(`${q.kind}:${q.file}`);
    if (description === undefined) throw new Error(`question about ${q.file} has no training item`);
    conversations.push(chat(description, q.question, q.answer));
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
