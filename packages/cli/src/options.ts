// Command options checked with a zod schema: commander hands actions loose strings and booleans,
// the schema turns them into typed values, and a bad value ends the command with exit code 2 and
// one line naming each offending option.
import type { z } from 'zod';

function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length > 0 ? `--${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/**
 * The options parsed by `schema`, or undefined after printing `<commandName>: <issues>` to stderr
 * and setting exit code 2; the caller returns at once on undefined.
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  commandName: string,
): z.output<S> | undefined {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  console.error(`${commandName}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  process.exitCode = 2;
  return undefined;
}
