// Cursor pagination for list endpoints. The cursor is opaque to clients (services use the last
// key or id they returned); `nextCursor` is null on the last page.
import { z } from 'zod';

export const MAX_PAGE_SIZE = 1000;

export const PageQuerySchema = z.object({
  cursor: z.string().min(1).max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

/** `{items, nextCursor}` over an item schema. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
