// An item's preview: the image thumbnail (fetched with the API key, shown from a blob: URL, since
// an <img src> cannot carry an Authorization header), or a labelled placeholder for audio and for
// images without a thumbnail.
import { useEffect, useState } from 'react';
import { authHeaders } from '../../api/api-key.js';
import type { ItemRecord } from '../../api/types.js';
import { formatDuration } from '../../lib/format.js';

/** `media/thumb/aa/<sha>.webp` -> ingest's `GET /v1/media/thumb/aa/<sha>.webp`, through /api. */
function thumbnailUrl(item: ItemRecord): string | undefined {
  const key = item.media?.thumbnailKey;
  return key?.startsWith('media/thumb/') ? `/api/v1/${key}` : undefined;
}

export function Thumbnail(props: { item: ItemRecord }) {
  const { item } = props;
  const url = thumbnailUrl(item);
  const [src, setSrc] = useState<string>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!url) return;
    const controller = new AbortController();
    let objectUrl: string | undefined;
    fetch(url, { headers: authHeaders(), signal: controller.signal })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}`);
        objectUrl = URL.createObjectURL(await res.blob());
        setSrc(objectUrl);
      })
      .catch(() => {
        if (!controller.signal.aborted) setFailed(true);
      });
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);

  const alt = item.captions[0] ?? item.source;
  if (src) return <img className="thumb" src={src} alt={alt} />;
  const label =
    item.modality === 'audio'
      ? `Audio${item.audio ? `, ${formatDuration(item.audio.durationSec)}` : ''}`
      : url && !failed
        ? 'Loading…'
        : 'No preview';
  return (
    <div className={`thumb placeholder ${item.modality}`} role="img" aria-label={`${label}: ${alt}`}>
      <span aria-hidden="true">{item.modality === 'audio' ? '♪' : '▧'}</span>
      <span aria-hidden="true" className="placeholder-label">
        {label}
      </span>
    </div>
  );
}
