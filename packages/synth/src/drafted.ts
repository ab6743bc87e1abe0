// What the first step of synthesis makes of an item (Synthesizer.draft): its planned samples,
// each generated and screened by the draft-local filters or failed with a reason, and what the
// second step (DraftSettler) needs to finish it. A plain JSON shape with a schema, because a
// dataset job stores it between the steps: units draft parts of the corpus on any replica, and
// the finish step settles them in item order.
import {
  FilterNameSchema,
  ItemSynthOutcomeSchema,
  ModalitySchema,
  OutcomeReasonSchema,
  SampleKindSchema,
} from '@mmit/contracts';
import { z } from 'zod';

const RejectionSchema = z.object({ filter: FilterNameSchema, detail: z.string() });

export const ScreenedDraftSchema = z.object({
  kind: SampleKindSchema,
  index: z.number().int().nonnegative(),
  turns: z.array(
    z.object({
      question: z.string(),
      answer: z.string(),
      pooled: z.boolean(),
      rejected: RejectionSchema.optional(),
    }),
  ),
});

/** One planned sample: its screened draft, or why the generator could not make it. */
const PlannedDraftSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    kind: SampleKindSchema,
    index: z.number().int().nonnegative(),
    draft: ScreenedDraftSchema,
  }),
  z.object({
    ok: z.literal(false),
    kind: SampleKindSchema,
    index: z.number().int().nonnegative(),
    reason: OutcomeReasonSchema,
    detail: z.string(),
  }),
]);

/** The item fields a sample and an outcome are made from (captions and boxes were used up by drafting). */
export const SampleSourceSchema = z.object({
  index: z.number().int().nonnegative(),
  id: z.string(),
  source: z.string(),
  modality: ModalitySchema,
  mediaKey: z.string().optional(),
  mediaSha256: z.string().optional(),
  mediaGroup: z.string(),
});
export type SampleSource = z.infer<typeof SampleSourceSchema>;

export const DraftedItemSchema = z.object({
  item: SampleSourceSchema,
  /** False when the item had no caption in the target language (nothing was planned). */
  usable: z.boolean(),
  /** Problems found before generation (no captions, captions in another language). */
  problems: ItemSynthOutcomeSchema.shape.problems,
  /** The item's planned samples, in plan order. */
  planned: z.array(PlannedDraftSchema),
});
export type DraftedItem = z.infer<typeof DraftedItemSchema>;
