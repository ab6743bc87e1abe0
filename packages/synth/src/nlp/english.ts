// Small English surface helpers for writing answers: plurals, lists, articles, capitals.

const IRREGULAR_PLURALS: Record<string, string> = {
  man: 'men',
  woman: 'women',
  child: 'children',
  person: 'people',
  foot: 'feet',
  tooth: 'teeth',
  mouse: 'mice',
  goose: 'geese',
  sheep: 'sheep',
  fish: 'fish',
  deer: 'deer',
  leaf: 'leaves',
  knife: 'knives',
  wolf: 'wolves',
  life: 'lives',
  shelf: 'shelves',
  loaf: 'loaves',
};

export function pluralOf(noun: string): string {
  const irregular = IRREGULAR_PLURALS[noun];
  if (irregular) return irregular;
  if (/(s|x|z|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

/** "a, b and c" */
export function joinList(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Lower-cases a phrase's first letter unless it looks like a name or acronym ("A dog" -> "a dog"). */
export function uncapitalize(text: string): string {
  if (/^[A-Z][A-Z]/.test(text) || /^I\b/.test(text)) return text;
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** "a dog" -> "the dog"; "two dogs" -> "the two dogs"; "the dog" stays. */
export function definite(phrase: string): string {
  const lower = uncapitalize(phrase);
  if (/^(a|an|one)\s/i.test(lower)) return lower.replace(/^(a|an|one)\s/i, 'the ');
  if (/^(the|this|that|these|those|his|her|its|their)\s/i.test(lower)) return lower;
  return `the ${lower}`;
}

export function sentence(text: string): string {
  const t = capitalize(text.trim());
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
