// Browse a dataset's samples by kind and split: each sample's conversation as the model will
// see it, beside the thumbnail of its media and the item it came from.
import { useState } from 'react';
import { getJson, query } from '../../api/client.js';
import type { Page, Sample, SampleKind } from '../../api/types.js';
import { ErrorNotice } from '../../components/Feedback.js';
import { Pager, useCursorPager } from '../../components/Pager.js';
import { useAsync } from '../../lib/use-async.js';
import { MediaThumbnail, thumbnailKeyOf } from '../corpora/Thumbnail.js';

export function SampleBrowser(props: { datasetId: string; kinds: SampleKind[] }) {
  const [kind, setKind] = useState<SampleKind | ''>('');
  const [split, setSplit] = useState<'' | 'train' | 'validation'>('');
  const pager = useCursorPager();
  const page = useAsync(
    (signal) =>
      getJson<Page<Sample>>(
        `/v1/datasets/${props.datasetId}/samples${query({ kind, split, limit: 10, cursor: pager.cursor })}`,
        signal,
      ),
    [props.datasetId, kind, split, pager.cursor],
  );
  const tabs: (SampleKind | '')[] = ['', ...props.kinds];
  return (
    <section aria-labelledby="samples-heading">
      <h2 id="samples-heading">Samples</h2>
      <div className="filters">
        <div role="tablist" aria-label="Sample kind" className="tabs">
          {tabs.map((k) => (
            <button
              key={k || 'all'}
              type="button"
              role="tab"
              aria-selected={kind === k}
              onClick={() => {
                setKind(k);
                pager.reset();
              }}
            >
              {k || 'all kinds'}
            </button>
          ))}
        </div>
        <div className="field">
          <label htmlFor="sample-split">Split</label>
          <select
            id="sample-split"
            value={split}
            onChange={(e) => {
              setSplit(e.target.value as typeof split);
              pager.reset();
            }}
          >
            <option value="">Both</option>
            <option value="train">train</option>
            <option value="validation">validation</option>
          </select>
        </div>
      </div>
      <ErrorNotice error={page.error} action="Loading samples" />
      <div role="tabpanel" aria-label={`${kind || 'all kinds'} samples`}>
        {page.value?.items.length === 0 && <p>No samples of this kind.</p>}
        <ol className="samples" aria-busy={page.loading}>
          {page.value?.items.map((s) => (
            <li key={s.id} className="sample" data-testid="sample">
              <MediaThumbnail
                thumbnailKey={s.mediaSha256 && thumbnailKeyOf(s.mediaSha256)}
                modality={s.modality}
                alt={`${s.modality === 'image' ? 'Image' : 'Audio'} of item ${s.itemId}`}
              />
              <div>
                <p className="item-meta">
                  <span className="chip">{s.kind}</span> <span className="chip">{s.split}</span>{' '}
                  <span className="muted">item {s.itemId}</span>
                </p>
                <dl className="turns">
                  {s.conversations.map((t, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: turns have no id; their order is the conversation
                    <div key={i} className={`turn ${t.from}`}>
                      <dt>{t.from === 'human' ? 'User' : 'Assistant'}</dt>
                      <dd>{t.value}</dd>
                    </div>
                  ))}
                </dl>
              </div>
            </li>
          ))}
        </ol>
      </div>
      <Pager pager={pager} nextCursor={page.value?.nextCursor} label="Sample pages" />
    </section>
  );
}
