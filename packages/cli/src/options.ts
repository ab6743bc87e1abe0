// Option handling the commands share. Options checked with a zod schema: commander hands actions
// loose strings and booleans, the schema turns them into typed values, and a bad value ends the
// command with exit code 2 and one line naming each offending option. And `--detach`.
import { type Command, Option } from 'commander';
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

/**
 * Adds `--detach` (print the id and return instead of following the job), the one name every
 * command that starts a job uses for it. `--no-wait`, the older name on some commands, still works
 * but is hidden from help and warns once.
 */
export function detachOption(
  command: Command,
  description = 'print the id and return instead of following the job',
): Command {
  return command
    .option('--detach', description)
    .addOption(new Option('--no-wait', 'deprecated: use --detach').hideHelp())
    .hook('preAction', (self) => {
      if (self.getOptionValue('wait') !== false) return;
      process.stderr.write(
        `mmit ${self.parent?.name()} ${self.name()}: --no-wait is deprecated; use --detach\n`,
      );
      self.setOptionValue('detach', true);
    });
}
