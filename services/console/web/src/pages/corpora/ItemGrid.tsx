// A corpus's items as a grid of cards: preview, captions, status, and for anything not accepted
// the reason. Status filtering is the service's (`?status=`); the modality and caption filters
// apply to the page on screen, since the items API has no such parameters.
import { useState } from 'react';
import { getJson, query } from '../../api/client.js';
import type { ItemRecord, ItemStatus, Page } from '../../api/types.js';
import { ErrorNotice, StatusBadge } from '../../components/Feedback.js';
import { Pager, useCursorPager } from '../../components/Pager.js';
import { useAsync } from '../../lib/use-async.js';
import { Thumbnail } from './Thumbnail.js';

const STATUSES: ItemStatus[] = ['accepted', 'duplicate', 'rejected'];
const PAGE_SIZES = [24, 48, 96];

export function ItemGrid(props: { corpusId: string; version: number }) {
  const [status, setStatus] = useState<ItemStatus | ''>('');
  const [modality, setModality] = useState<'' | 'image' | 'audio'>('');
  const [text, setText] = useState('');
  const [limit, setLimit] = useState(PAGE_SIZES[0]);
  const pager = useCursorPager();
  const page = useAsync(
    (signal) =>
      getJson<Page<ItemRecord>>(
        `/v1/corpora/${props.corpusId}/items${query({ status, limit, cursor: pager.cursor })}`,
        signal,
      ),
    [props.corpusId, status, limit, pager.cursor, props.version],
  );
  const needle = text.trim().toLowerCase();
  const shown = (page.value?.items ?? []).filter(
    (item) =>
      (!modality || item.modality === modality) &&
      (!needle ||
        item.source.toLowerCase().includes(needle) ||
        item.captions.some((c) => c.toLowerCase().includes(needle))),
  );

  return (
    <section aria-labelledby="items-heading">
      <h2 id="items-heading">Items</h2>
      <fieldset className="filters">
        <legend className="visually-hidden">Item filters</legend>
        <div className="field">
          <label htmlFor="item-status">Status</label>
          <select
            id="item-status"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as ItemStatus | '');
              pager.reset();
            }}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="item-modality">Modality (this page)</label>
          <select
            id="item-modality"
            value={modality}
            onChange={(e) => setModality(e.target.value as typeof modality)}
          >
            <option value="">All</option>
            <option value="image">Images</option>
            <option value="audio">Audio</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="item-text">Caption or file contains (this page)</label>
          <input id="item-text" type="search" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="item-limit">Per page</label>
          <select
            id="item-limit"
            value={limit}
            onChange={(e) => {
              setLimit(Number(e.target.value));
              pager.reset();
            }}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </fieldset>
      <ErrorNotice error={page.error} action="Loading items" />
      {page.value && shown.length === 0 && <p>No items match.</p>}
      <ul className="item-grid" aria-busy={page.loading}>
        {shown.map((item) => (
          <ItemCard key={item.id} item={item} />
        ))}
      </ul>
      <Pager pager={pager} nextCursor={page.value?.nextCursor} label="Item pages" />
    </section>
  );
}

function ItemCard(props: { item: ItemRecord }) {
  const { item } = props;
  return (
    <li className={`item-card ${item.status}`} data-testid="item-card">
      <Thumbnail item={item} />
      <div className="item-body">
        <p className="item-meta">
          <StatusBadge status={item.status} />
          <span className="item-source" title={item.source}>
            {item.source}
          </span>
        </p>
        {item.captions.length > 0 ? (
          <ul className="captions">
            {item.captions.slice(0, 3).map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: captions may repeat; their order is stable
              <li key={i}>{c}</li>
            ))}
            {item.captions.length > 3 && <li className="muted">+{item.captions.length - 3} more</li>}
          </ul>
        ) : (
          <p className="muted">No caption</p>
        )}
        {item.rejection && (
          <p className="reason">
            <strong>{item.rejection.type.replace(/_/g, ' ')}</strong>: {item.rejection.detail}
          </p>
        )}
        {item.duplicateOf && <p className="reason">Same bytes as item {item.duplicateOf}</p>}
        {item.image?.nearDuplicateOf && (
          <p className="reason">
            Near duplicate of {item.image.nearDuplicateOf.itemId} ({item.image.nearDuplicateOf.distance} bits
            apart)
          </p>
        )}
        {item.image && (
          <p className="muted">
            {item.image.width}×{item.image.height} {item.image.format}
          </p>
        )}
      </div>
    </li>
  );
}
