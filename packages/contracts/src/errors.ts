// Error codes and the RFC 9457 problem+json body every service answers with. The table below is
// the one list of codes: HTTP statuses, titles and item rejection reasons all come from it, and
// docs/ renders it. A code's `type` URI never changes once published; clients match on it (or on
// the `code` extension member, which carries the same name).
import { z } from 'zod';

export const PROBLEM_TYPE_BASE = 'urn:mmit:problem:';

/** Every error code: its HTTP status, its title, and whether it can be a per-item rejection reason. */
export const PROBLEMS = {
  validation: { status: 400, title: 'Request failed validation', item: true },
  unsafe_path: { status: 400, title: 'Path escapes its folder', item: true },
  upload_incomplete: { status: 400, title: 'Upload ended before it was complete', item: true },
  unauthorized: { status: 401, title: 'Missing or wrong API key', item: false },
  not_found: { status: 404, title: 'Not found', item: true },
  conflict: { status: 409, title: 'Conflicts with the current state', item: false },
  payload_too_large: { status: 413, title: 'Payload too large', item: true },
  too_many_entries: { status: 413, title: 'Too many entries', item: false },
  range_not_satisfiable: { status: 416, title: 'Range not satisfiable', item: false },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', item: true },
  empty_file: { status: 422, title: 'File is empty', item: true },
  decode_failed: { status: 422, title: 'Media could not be decoded', item: true },
  image_too_large: { status: 422, title: 'Image dimensions exceed the limit', item: true },
  audio_too_long: { status: 422, title: 'Audio duration exceeds the limit', item: true },
  invalid_caption: { status: 422, title: 'Caption is not valid UTF-8 text', item: true },
  missing_caption: { status: 422, title: 'Item has no caption', item: true },
  missing_media: { status: 422, title: 'Referenced media file is missing', item: true },
  invalid_record: { status: 422, title: 'Record in the import file is malformed', item: true },
  unusable_samples: { status: 422, title: 'Samples the run cannot train on', item: false },
  job_failed: { status: 500, title: 'Job failed', item: false },
  internal: { status: 500, title: 'Internal error', item: true },
  bad_gateway: { status: 502, title: 'Upstream service failed before answering', item: false },
  storage_unavailable: { status: 503, title: 'Object storage unavailable', item: true },
  not_ready: { status: 503, title: 'Service not ready', item: false },
} as const satisfies Record<string, { status: number; title: string; item: boolean }>;

export type ProblemCode = keyof typeof PROBLEMS;
export const PROBLEM_CODES = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]];
export const ProblemCodeSchema = z.enum(PROBLEM_CODES);

/** Codes that can explain why one item of a bulk operation was rejected. */
export const REJECTION_CODES = PROBLEM_CODES.filter((c) => PROBLEMS[c].item) as [
  ProblemCode,
  ...ProblemCode[],
];
export const RejectionCodeSchema = z.enum(REJECTION_CODES);
export type RejectionCode = z.infer<typeof RejectionCodeSchema>;

export function problemType(code: ProblemCode): string {
  return `${PROBLEM_TYPE_BASE}${code}`;
}

/** One validation issue, flattened: where (`path`, dotted) and what (`message`, zod's `code`). */
export const FieldIssueSchema = z
  .object({ path: z.string(), message: z.string(), code: z.string() })
  .meta({ id: 'FieldIssue' });
export type FieldIssue = z.infer<typeof FieldIssueSchema>;

/** The item a problem is about, inside a bulk request: its position and/or its name or key. */
export const ProblemItemSchema = z
  .object({ index: z.number().int().nonnegative().optional(), key: z.string().optional() })
  .meta({ id: 'ProblemItem' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    code: ProblemCodeSchema,
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    instance: z.string().optional(),
    item: ProblemItemSchema.optional(),
    errors: z.array(FieldIssueSchema).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });
export type Problem = z.infer<typeof ProblemSchema>;

/** Builds a problem body for a code; title, status and type come from the table. */
export function problem(
  code: ProblemCode,
  detail: string,
  extra: Partial<Pick<Problem, 'instance' | 'item' | 'errors'>> = {},
): Problem {
  const { status, title } = PROBLEMS[code];
  return { type: problemType(code), code, title, status, detail, ...extra };
}

/** Flattens zod issues into `{path, message, code}` rows, path dotted (`items.3.caption`). */
export function flattenIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((p) => String(p)).join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/** A reason one item was not accepted; `type` is a rejection code from the table. */
export const RejectionSchema = z
  .object({ type: RejectionCodeSchema, detail: z.string() })
  .meta({ id: 'Rejection' });
export type Rejection = z.infer<typeof RejectionSchema>;
