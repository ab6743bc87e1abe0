// Small closed word lists the fact extractor and filters need: colour names, number words, words
// that name positions in a frame, and the medium and scene vocabulary that answers may use
// without it appearing in the captions. Open classes (objects, actions, sounds) come from the
// tagger, never from lists.
export const COLOURS = new Set([
  'red',
  'green',
  'blue',
  'yellow',
  'purple',
  'orange',
  'pink',
  'brown',
  'black',
  'white',
  'grey',
  'gray',
  'beige',
  'violet',
  'cyan',
  'magenta',
  'teal',
  'navy',
  'maroon',
  'gold',
  'golden',
  'silver',
  'turquoise',
  'tan',
  'olive',
  'lime',
  'cream',
  'ivory',
  'crimson',
  'scarlet',
  'indigo',
  'lavender',
]);

/** Modifiers that qualify a colour ("light grey") and belong with it. */
export const COLOUR_SHADES = new Set(['light', 'dark', 'pale', 'bright', 'deep']);

export const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  a: 1,
  an: 1,
  single: 1,
  pair: 2,
  couple: 2,
};

const WORDS_FOR_NUMBERS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
];

export function numberWord(n: number): string {
  return WORDS_FOR_NUMBERS[n] ?? String(n);
}

/**
 * Words that name a place in a frame's grid ("top left", "middle right", "center"): a location
 * phrase made only of these names a place a short-answer question can ask about; "on the table"
 * or "in silence" do not.
 */
export const FRAME_PLACE_WORDS = new Set([
  'top',
  'bottom',
  'left',
  'right',
  'center',
  'centre',
  'middle',
  'corner',
]);

/** Nouns that name a place in the frame rather than a thing in it. */
export const POSITION_NOUNS = new Set([
  ...FRAME_PLACE_WORDS,
  'side',
  'edge',
  'front',
  'back',
  'foreground',
  'background',
  'distance',
  'row',
  'column',
]);

/** Prepositions that introduce a location ("at the top left", "on the table", "next to the door"). */
export const LOCATION_PREPOSITIONS = new Set([
  'at',
  'on',
  'in',
  'near',
  'under',
  'above',
  'below',
  'behind',
  'beside',
  'inside',
  'over',
  'across',
  'along',
  'by',
  'between',
  'beneath',
  'underneath',
  'atop',
  'next',
  'against',
]);

/** Words that link events in time in audio captions. */
export const SEQUENCE_WORDS = new Set([
  'then',
  'followed',
  'after',
  'afterwards',
  'before',
  'finally',
  'later',
]);

/**
 * Nouns an answer may use that need not occur in the captions: the medium, frame positions,
 * generic category words, and the vocabulary our own templates use.
 */
export const GENERIC_NOUNS = new Set([
  ...POSITION_NOUNS,
  ...COLOURS,
  'addition',
  'first',
  'second',
  'third',
  'last',
  'rest',
  'altogether',
  'both',
  'common',
  'placement',
  'respect',
  'image',
  'picture',
  'photo',
  'photograph',
  'scene',
  'view',
  'frame',
  'shot',
  'setting',
  'composition',
  'audio',
  'clip',
  'recording',
  'sound',
  'noise',
  'tone',
  'pitch',
  'volume',
  'silence',
  'moment',
  'time',
  'object',
  'thing',
  'item',
  'element',
  'shape',
  'color',
  'colour',
  'number',
  'total',
  'kind',
  'type',
  'part',
  'area',
  'space',
  'detail',
  'way',
  'order',
  'sequence',
  'course',
  'end',
  'beginning',
  'start',
  'one',
  'other',
  'another',
  'each',
  'all',
  'lot',
  'variety',
  'mix',
  'contrast',
  'arrangement',
  'position',
  'description',
  'subject',
  'focus',
  'attention',
  'presence',
  'event',
  'instance',
  'example',
]);

/** Nouns that name the medium itself ("a simple drawing of ...", "a grey picture with ..."): never things in it. */
export const MEDIUM_NOUNS = new Set([
  'image',
  'picture',
  'photo',
  'photograph',
  'drawing',
  'illustration',
  'clip',
  'recording',
  'audio',
]);

/** Heads too generic to ask about or total on their own ("two shapes" is still counted). */
export const GENERIC_HEADS = new Set([
  'shape',
  'object',
  'thing',
  'item',
  'sound',
  'noise',
  'scene',
  'image',
  'picture',
]);

/** The dimension a quality word measures, for "What is the pitch of the first beep?" -> "high". */
export const QUALITY_DIMENSIONS: Record<string, string> = {
  high: 'pitch',
  low: 'pitch',
  loud: 'loudness',
  quiet: 'loudness',
  soft: 'loudness',
  short: 'length',
  long: 'length',
};
