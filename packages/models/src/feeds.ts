// Host-side helpers that turn batches into the int32 feeds the LM graphs take: ids/masks/labels
// from int64 (fixtures, tokenizers), position ids (0..T-1 as HF's forward uses, or from the
// attention mask as HF's generate does: cumsum(mask) - 1, padding set to 1), and the row list of
// labelled positions used by the training step's exact "head only where labels != -100" mode.
import { type HostTensor, hostTensor, toNumbers } from '@mmit/tensor';

export class BatchError extends Error {
  override name = 'BatchError';
}

/** Any integer tensor (int64 fixtures, int32 feeds) as int32. */
export function asInt32(t: HostTensor): HostTensor<'int32'> {
  if (t.dtype === 'int32') return t as HostTensor<'int32'>;
  return hostTensor('int32', t.dims, toNumbers(t));
}

/** [[0, 1, ..., T-1], ...] for B rows. */
export function arangePositions(batch: number, length: number, offset = 0): HostTensor<'int32'> {
  const data = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) for (let t = 0; t < length; t++) data[b * length + t] = offset + t;
  return { dtype: 'int32', dims: [batch, length], data };
}

/**
 * Positions of the last `length` columns of `mask` (B, S): cumsum(mask) - 1 with padding set to 1,
 * as transformers' generate computes them; correct for left- and right-padded rows alike.
 */
export function positionsFromMask(mask: HostTensor, length: number): HostTensor<'int32'> {
  const [batch, total] = mask.dims;
  const m = toNumbers(mask);
  const data = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let s = 0; s < total; s++) {
      const real = m[b * total + s] === 1;
      if (real) count += 1;
      const t = s - (total - length);
      if (t >= 0) data[b * length + t] = real ? count - 1 : 1;
    }
  }
  return { dtype: 'int32', dims: [batch, length], data };
}

/**
 * The positions that contribute to the shifted causal-LM loss: flat row indices r = b*(T-1)+t into
 * the (B*(T-1)) shifted logits, with targets labels[b, t+1] != ignoreIndex. Computing the LM head
 * only there gives exactly the loss and gradients of the full head (other rows carry weight 0).
 */
export function labelledRows(
  labels: HostTensor,
  ignoreIndex = -100,
): { rows: HostTensor<'int32'>; targets: HostTensor<'int32'> } {
  const [batch, length] = labels.dims;
  const l = toNumbers(labels);
  const rows: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t + 1 < length; t++) {
      const target = l[b * length + t + 1];
      if (target === ignoreIndex) continue;
      rows.push(b * (length - 1) + t);
      targets.push(target);
    }
  }
  if (rows.length === 0) throw new BatchError('every label is ignored (-100): the loss would be NaN');
  return {
    rows: hostTensor('int32', [rows.length], rows),
    targets: hostTensor('int32', [targets.length], targets),
  };
}

/** Checks that the batch holds exactly one `<image>` id per feature row, as LLaVA requires. */
export function checkImageTokens(inputIds: HostTensor, imageTokenId: number, featureRows: number): void {
  const ids = toNumbers(inputIds);
  let count = 0;
  for (const id of ids) if (id === imageTokenId) count++;
  if (count !== featureRows) {
    throw new BatchError(
      `input_ids hold ${count} image tokens (id ${imageTokenId}) but features have ${featureRows} rows; they must match`,
    );
  }
}
