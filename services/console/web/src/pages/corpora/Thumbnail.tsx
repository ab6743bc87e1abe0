// A media preview: the image thumbnail (fetched with the API key, shown from a blob: URL, since an
// <img src> cannot carry an Authorization header), or a labelled placeholder for audio and for
// images without a thumbnail. Corpus items and dataset samples both use it, through ingest's
// thumbnail route (`GET /v1/media/thumb/<aa>/<sha256>.<ext>`, under /api).
import { useEffect, useState } from 'react';
import { authHeaders } from '../../api/api-key.js';
import type { ItemRecord } from '../../api/types.js';
import { formatDuration } from '../../lib/format.js';

/** `media/thumb/aa/<sha>.webp` -> ingest's `GET /v1/media/thumb/aa/<sha>.webp`, through /api. */
function thumbnailUrl(key: string | undefined): string | undefined {
  return key?.startsWith('media/thumb/') ? `/api/v1/${key}` : undefined;
}

/**
 * The thumbnail key of normalised media by its sha256, for records that carry the sha but not
 * the key (dataset samples). Ingest writes thumbnails as WebP (media's default format); one
 * that is missing shows the placeholder.
 */
export function thumbnailKeyOf(sha256: string): string {
  return `media/thumb/${sha256.slice(0, 2)}/${sha256}.webp`;
}

export function Thumbnail(props: { item: ItemRecord }) {
  const { item } = props;
  return (
    <MediaThumbnail
      thumbnailKey={item.media?.thumbnailKey}
      modality={item.modality}
      alt={item.captions[0] ?? item.source}
      audioLabel={`Audio${item.audio ? `, ${formatDuration(item.audio.durationSec)}` : ''}`}
    />
  );
}

export function MediaThumbnail(props: {
  thumbnailKey: string | undefined;
  modality: 'image' | 'audio';
  alt: string;
  audioLabel?: string;
}) {
  const url = props.modality === 'image' ? thumbnailUrl(props.thumbnailKey) : undefined;
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

  const { alt, modality } = props;
  if (src)
    return (
      <div className="thumb-frame">
        <img className="thumb" src={src} alt={alt} />
      </div>
    );
  const label =
    modality === 'audio' ? (props.audioLabel ?? 'Audio') : url && !failed ? 'Loading…' : 'No preview';
  return (
    <div className="thumb-frame">
      <div className={`thumb placeholder ${modality}`} role="img" aria-label={`${label}: ${alt}`}>
        <span aria-hidden="true">{modality === 'audio' ? '♪' : '▧'}</span>
        <span aria-hidden="true" className="placeholder-label">
          {label}
        </span>
      </div>
    </div>
  );
}
