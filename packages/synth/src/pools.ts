// Instruction pools for the kinds whose instruction is fixed and only the answer varies:
// `brief` (LLaVA stage 1: a "describe briefly" paraphrase + the caption) and `detailed`. Written
// for this project; each pool is larger than LLaVA's (11 brief, 16 detailed) so that no single
// phrasing dominates, and the diversity report measures the effect.
import type { Modality } from '@mmit/contracts';

export const BRIEF_IMAGE = [
  'Give a short description of this image.',
  'Summarize what the picture shows in a few words.',
  'What does this image show? Keep it brief.',
  'Describe the image in one sentence.',
  'Offer a concise caption for this picture.',
  'In a sentence, what is depicted here?',
  'Provide a quick summary of the scene.',
  'Write a brief caption that fits this image.',
  'Sum up the contents of the photo briefly.',
  'Tell me, in short, what is in this picture.',
  'What is this a picture of? Answer briefly.',
  'Briefly explain what can be seen in the image.',
];

export const DETAILED_IMAGE = [
  'Describe this image in detail.',
  'Give a thorough account of everything you can see in the picture.',
  'Walk me through the contents of this image, covering every notable element.',
  'Write a detailed description of the scene shown here.',
  'What is going on in this picture? Describe it fully.',
  'Explain the image in depth, including objects, colors and where things are.',
  'Provide a comprehensive description of the visual content.',
  'Describe the picture as if for someone who cannot see it.',
  'Paint a detailed picture in words of what this image contains.',
  'List and describe the elements of this image and how they are arranged.',
  'Give an elaborate description of this photo.',
  'Tell me everything notable about this image.',
  'Describe the scene carefully, leaving out nothing important.',
  'What can be observed in this image? Be as detailed as you can.',
  'Compose a rich, detailed description of the picture.',
  'Break down the contents of the image in detail.',
  'Analyze the image and describe what it depicts in detail.',
];

export const BRIEF_AUDIO = [
  'Give a short description of this audio clip.',
  'What can be heard in this recording? Keep it brief.',
  'Summarize the sounds in this clip in one sentence.',
  'Describe the audio briefly.',
  'Offer a concise caption for this sound recording.',
  'In a few words, what does this clip contain?',
  'Write a brief caption for the audio.',
  'What is this recording of? Answer briefly.',
  'Sum up what you hear in a sentence.',
  'Provide a quick summary of the audio.',
  'Tell me, in short, what the clip sounds like.',
  'Briefly state what is audible here.',
];

export const DETAILED_AUDIO = [
  'Describe this audio clip in detail.',
  'Give a thorough account of everything that can be heard in the recording.',
  'Walk me through the sounds in this clip, in the order they occur.',
  'Write a detailed description of the audio.',
  'What happens in this recording? Describe it fully.',
  'Explain the clip in depth, including each sound and its character.',
  'Provide a comprehensive description of the audio content.',
  'Describe the recording for someone who cannot hear it.',
  'Characterize every sound in this clip and how they follow one another.',
  'List and describe the sounds you hear and when they happen.',
  'Give an elaborate description of this sound recording.',
  'Tell me everything notable about this audio.',
  'Describe the clip carefully, leaving out nothing important.',
  'What can be heard in this audio? Be as detailed as you can.',
  'Compose a rich, detailed description of the recording.',
  'Break down the audio into its parts and describe each one.',
  'Analyze the recording and describe its sounds in detail.',
];

export function briefPool(modality: Modality): readonly string[] {
  return modality === 'image' ? BRIEF_IMAGE : BRIEF_AUDIO;
}

export function detailedPool(modality: Modality): readonly string[] {
  return modality === 'image' ? DETAILED_IMAGE : DETAILED_AUDIO;
}
