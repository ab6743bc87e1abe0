// System prompts and few-shot examples per kind and modality, in the manner of LLaVA's
// instruction-data prompts (written fresh for this project): the writer model sees only symbolic
// context (captions, and object boxes normalized to 0-1 when the item has them), answers as if it
// perceived the media itself, asks only what has a definite answer, and replies in JSON.
import type { Modality, SampleKind } from '@mmit/contracts';
import type { SourceItem } from '../../source.js';
import type { ChatMessage } from './client.js';

type WrittenKind = Exclude<SampleKind, 'brief' | 'vqa'>;

function persona(modality: Modality): string {
  return modality === 'image'
    ? 'You are an AI visual assistant looking at a single image. What you see is given to you as several sentences that describe the same image and, when available, object locations as bounding boxes [x, y, width, height] with values from 0 to 1, origin at the top left.'
    : 'You are an AI audio assistant listening to a single sound clip. What you hear is given to you as several sentences that describe the same clip.';
}

const RULES = `Speak as if you perceive the media yourself: never mention sentences, captions, descriptions or boxes. Only state what the given information makes certain; do not guess, hedge, or mention things it does not contain. Reply with one JSON object and nothing else.`;

const TASKS: Record<WrittenKind, (m: Modality) => string> = {
  detailed: (m) =>
    `Write a detailed description of the ${m === 'image' ? 'image' : 'clip'} in one paragraph of three to six sentences, covering ${m === 'image' ? 'the objects, their colors, counts and positions, and what is happening' : 'each sound, its character, and the order in which the sounds occur'}. JSON shape: {"description": "..."}.`,
  conversation: (m) =>
    `Write a conversation of two to four turns between a person asking about the ${m === 'image' ? 'image' : 'clip'} and you answering. Ask varied questions about ${m === 'image' ? 'the objects, their colors, counts, positions and actions' : 'the sounds, their sources, counts, qualities and order'}. Only ask questions whose answers are definite. JSON shape: {"turns": [{"question": "...", "answer": "..."}]}.`,
  reasoning: (m) =>
    `Write one question that needs reasoning about the ${m === 'image' ? 'image' : 'clip'} (why or how), and a detailed answer in which every step follows from what you ${m === 'image' ? 'see' : 'hear'}. JSON shape: {"turns": [{"question": "...", "answer": "..."}]}.`,
};

export function contextText(item: SourceItem): string {
  const lines = ['Captions:', ...item.captions.map((c) => `- ${c}`)];
  if (item.boxes.length) {
    lines.push('Objects (category: [x, y, width, height]):');
    for (const b of item.boxes)
      lines.push(`- ${b.category}: [${b.bbox.map((v) => v.toFixed(2)).join(', ')}]`);
  }
  return lines.join('\n');
}

interface Example {
  item: Pick<SourceItem, 'captions' | 'boxes'>;
  reply: object;
}

const EXAMPLES: Record<Modality, Record<WrittenKind, Example>> = {
  image: {
    detailed: {
      item: {
        captions: [
          'A girl in a yellow raincoat holds a red umbrella.',
          'A child stands on a wet street with an umbrella.',
        ],
        boxes: [
          { category: 'person', bbox: [0.38, 0.2, 0.22, 0.7] },
          { category: 'umbrella', bbox: [0.3, 0.05, 0.4, 0.25] },
        ],
      },
      reply: {
        description:
          'A girl in a yellow raincoat stands on a wet street in the middle of the frame. She holds a red umbrella above her head, which takes up the upper part of the scene. The street around her is wet.',
      },
    },
    conversation: {
      item: {
        captions: ['Two brown dogs run across a green lawn.', 'Dogs playing on the grass.'],
        boxes: [],
      },
      reply: {
        turns: [
          { question: 'How many dogs are there?', answer: 'There are two dogs.' },
          { question: 'What color are the dogs?', answer: 'Both dogs are brown.' },
          { question: 'What are the dogs doing?', answer: 'They are running across a green lawn.' },
        ],
      },
    },
    reasoning: {
      item: { captions: ['A man carries a surfboard toward the waves on a sandy beach.'], boxes: [] },
      reply: {
        turns: [
          {
            question: 'What is the man most likely about to do, and why?',
            answer:
              'He is about to go surfing: he is carrying a surfboard and walking toward the waves on the beach.',
          },
        ],
      },
    },
  },
  audio: {
    detailed: {
      item: {
        captions: ['A kettle whistles and then a cup clinks.', 'Whistling followed by a clink.'],
        boxes: [],
      },
      reply: {
        description:
          'The clip begins with a kettle whistling, a sustained high sound. After the whistle, a cup clinks once.',
      },
    },
    conversation: {
      item: { captions: ['A dog barks three times while rain falls.'], boxes: [] },
      reply: {
        turns: [
          { question: 'What sounds can be heard?', answer: 'A dog barking and rain falling.' },
          { question: 'How many times does the dog bark?', answer: 'The dog barks three times.' },
        ],
      },
    },
    reasoning: {
      item: { captions: ['Footsteps grow louder, then a door opens.'], boxes: [] },
      reply: {
        turns: [
          {
            question: 'How does the person move during the clip?',
            answer: 'The person walks closer: the footsteps grow louder, and then the person opens a door.',
          },
        ],
      },
    },
  },
};

export function buildMessages(kind: WrittenKind, item: SourceItem): ChatMessage[] {
  const example = EXAMPLES[item.modality][kind];
  return [
    { role: 'system', content: `${persona(item.modality)}\n${TASKS[kind](item.modality)}\n${RULES}` },
    { role: 'user', content: contextText({ ...item, ...example.item }) },
    { role: 'assistant', content: JSON.stringify(example.reply) },
    { role: 'user', content: contextText(item) },
  ];
}
