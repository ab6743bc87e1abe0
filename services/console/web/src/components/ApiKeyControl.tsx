// Where the user enters the API key once per tab. The key goes to sessionStorage (see
// api/api-key.ts) and from there into the Authorization header of every request.
import { type FormEvent, useState } from 'react';
import { setApiKey, useApiKey } from '../api/api-key.js';

export function ApiKeyControl() {
  const key = useApiKey();
  const [draft, setDraft] = useState('');
  const [open, setOpen] = useState(false);
  const save = (e: FormEvent) => {
    e.preventDefault();
    setApiKey(draft.trim() || null);
    setDraft('');
    setOpen(false);
  };
  return (
    <div className="api-key">
      <button type="button" aria-expanded={open} aria-controls="api-key-form" onClick={() => setOpen(!open)}>
        API key: {key ? 'set' : 'none'}
      </button>
      {open && (
        <form id="api-key-form" onSubmit={save} className="api-key-form">
          <label htmlFor="api-key-input">API key (kept for this tab only)</label>
          <input
            id="api-key-input"
            type="password"
            autoComplete="off"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit">Save key</button>
          {key && (
            <button type="button" onClick={() => setApiKey(null)}>
              Forget key
            </button>
          )}
        </form>
      )}
    </div>
  );
}
