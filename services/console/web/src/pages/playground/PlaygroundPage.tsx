// Playground: pick a served model (a base LM or a finished run), attach an image or audio clip,
// and read the answer as it streams. The conversation stays on the page only.
import { type FormEvent, useRef, useState } from 'react';
import { getJson } from '../../api/client.js';
import type { ModelList } from '../../api/types.js';
import { ErrorNotice } from '../../components/Feedback.js';
import { useLocation } from '../../lib/router.js';
import { useAsync, useTitle } from '../../lib/use-async.js';
import { type Attachment, attachmentFrom, type ChatTurn, streamChat } from './chat.js';

export function PlaygroundPage() {
  useTitle('Playground');
  const { search } = useLocation();
  const models = useAsync((signal) => getJson<ModelList>('/v1/models', signal), []);
  const [model, setModel] = useState(search.get('model') ?? '');
  const [system, setSystem] = useState('');
  const [prompt, setPrompt] = useState('');
  const [attachment, setAttachment] = useState<Attachment>();
  const [turns, setTurns] = useState<ChatTurn[]>([]);
  const [answer, setAnswer] = useState<string>();
  const [info, setInfo] = useState<string>();
  const [maxTokens, setMaxTokens] = useState(64);
  const [temperature, setTemperature] = useState(0);
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);
  const chosen = model || models.value?.data[0]?.id || '';
  const busy = answer !== undefined;

  const attach = async (file: File | undefined) => {
    setError(undefined);
    try {
      setAttachment(file ? await attachmentFrom(file) : undefined);
    } catch (err) {
      setError(err);
      if (fileInput.current) fileInput.current.value = '';
    }
  };

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const turn: ChatTurn = { role: 'user', text: prompt.trim(), ...(attachment ? { attachment } : {}) };
    const history = [...turns, turn];
    setTurns(history);
    setPrompt('');
    setAttachment(undefined);
    if (fileInput.current) fileInput.current.value = '';
    setError(undefined);
    setInfo(undefined);
    const controller = new AbortController();
    abort.current = controller;
    let text = '';
    setAnswer('');
    try {
      const done = await streamChat({
        model: chosen,
        system,
        turns: history,
        maxTokens,
        temperature,
        signal: controller.signal,
        onText: (t) => {
          text += t;
          setAnswer(text);
        },
      });
      setInfo(
        `Finished: ${done.finishReason ?? 'stream ended'}${done.usage ? `, ${done.usage.prompt_tokens} prompt + ${done.usage.completion_tokens} completion tokens` : ''}.`,
      );
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'AbortError')) setError(err);
      else setInfo('Stopped.');
    } finally {
      setTurns((t) => [...t, { role: 'assistant', text }]);
      setAnswer(undefined);
    }
  };

  return (
    <>
      <h1>Playground</h1>
      <ErrorNotice error={models.error} action="Listing models" />
      <div className="playground">
        <form onSubmit={send} className="panel">
          <div className="form-grid">
            <div className="field">
              <label htmlFor="chat-model">Model</label>
              <select id="chat-model" value={chosen} onChange={(e) => setModel(e.target.value)} required>
                {models.value?.data.length === 0 && <option value="">No models served</option>}
                {models.value?.data.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.id} ({m.owned_by})
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="chat-max-tokens">Max tokens</label>
              <input
                id="chat-max-tokens"
                type="number"
                min={1}
                value={maxTokens}
                onChange={(e) => setMaxTokens(Number(e.target.value))}
              />
            </div>
            <div className="field">
              <label htmlFor="chat-temperature">Temperature</label>
              <input
                id="chat-temperature"
                type="number"
                min={0}
                max={2}
                step={0.1}
                value={temperature}
                onChange={(e) => setTemperature(Number(e.target.value))}
              />
            </div>
          </div>
          <div className="field">
            <label htmlFor="chat-system">System prompt (optional)</label>
            <input id="chat-system" value={system} onChange={(e) => setSystem(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="chat-attachment">Image or audio (wav, mp3, flac)</label>
            <input
              id="chat-attachment"
              ref={fileInput}
              type="file"
              accept="image/*,.wav,.mp3,.flac,audio/wav,audio/mpeg,audio/flac"
              onChange={(e) => attach(e.target.files?.[0])}
            />
          </div>
          {attachment && <AttachmentPreview attachment={attachment} />}
          <div className="field">
            <label htmlFor="chat-prompt">Message</label>
            <textarea id="chat-prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
          </div>
          <div className="actions">
            <button type="submit" disabled={busy || !chosen || (!prompt.trim() && !attachment)}>
              Send
            </button>
            {busy && (
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            )}
            {turns.length > 0 && !busy && (
              <button type="button" onClick={() => setTurns([])}>
                New conversation
              </button>
            )}
          </div>
          <ErrorNotice error={error} action="The request" />
        </form>
        <section aria-labelledby="conversation-heading" className="conversation">
          <h2 id="conversation-heading">Conversation</h2>
          {turns.length === 0 && !busy && <p className="muted">Nothing yet.</p>}
          <ol className="turns-list">
            {turns.map((t, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: turns have no id; their order is the conversation
              <li key={i} className={`turn ${t.role}`}>
                <span className="turn-role">{t.role === 'user' ? 'You' : chosen}</span>
                {t.attachment && <AttachmentPreview attachment={t.attachment} />}
                <p>{t.text || <span className="muted">(empty)</span>}</p>
              </li>
            ))}
            {busy && (
              <li className="turn assistant">
                <span className="turn-role">{chosen}</span>
                <p data-testid="streaming-answer" aria-live="polite">
                  {answer || <span className="muted">Waiting for the first token…</span>}
                </p>
              </li>
            )}
          </ol>
          {info && (
            <p role="status" className="muted">
              {info}
            </p>
          )}
        </section>
      </div>
    </>
  );
}

function AttachmentPreview(props: { attachment: Attachment }) {
  const a = props.attachment;
  return a.kind === 'image' ? (
    <img className="attachment" src={a.dataUrl} alt={`Attachment ${a.name}`} />
  ) : (
    // biome-ignore lint/a11y/useMediaCaption: the user's own clip; there is no caption track to give
    <audio className="attachment" controls src={a.dataUrl} aria-label={`Attached audio ${a.name}`} />
  );
}
