// Cursor pagination: the services hand out an opaque `nextCursor`; going back needs the cursors
// of the pages already seen, kept here as a stack.
import { useCallback, useState } from 'react';

export interface CursorPager {
  cursor: string | undefined;
  page: number;
  next(nextCursor: string): void;
  previous(): void;
  reset(): void;
}

export function useCursorPager(): CursorPager {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    next: useCallback((c: string) => setStack((s) => [...s, c]), []),
    previous: useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []),
    reset: useCallback(() => setStack([undefined]), []),
  };
}

export function Pager(props: { pager: CursorPager; nextCursor: string | null | undefined; label: string }) {
  const { pager, nextCursor } = props;
  return (
    <nav className="pager" aria-label={props.label}>
      <button type="button" onClick={pager.previous} disabled={pager.page <= 1}>
        Previous
      </button>
      <span>Page {pager.page}</span>
      <button type="button" onClick={() => nextCursor && pager.next(nextCursor)} disabled={!nextCursor}>
        Next
      </button>
    </nav>
  );
}
