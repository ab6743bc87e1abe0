// The API key the user typed, kept in sessionStorage: it survives reloads of this tab and is gone
// when the tab closes, and it is never sent anywhere but this origin's /api and /media.
import { useSyncExternalStore } from 'react';

const STORAGE_KEY = 'mmit.apiKey';
const listeners = new Set<() => void>();

export function getApiKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useApiKey(): string | null {
  return useSyncExternalStore(subscribe, getApiKey);
}

/** The Authorization header for the current key, if any. */
export function authHeaders(): Record<string, string> {
  const key = getApiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}
