import { z } from 'zod';
import { badUserInput } from './errors.js';

/**
 * Validates resolver arguments with a zod schema. Failures become one BAD_USER_INPUT error naming the
 * first offending field in `extensions.field` and listing every problem in `extensions.issues`.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  throw badUserInput(first ? `${first.field || 'input'}: ${first.message}` : 'Invalid input', {
    field: first?.field,
    issues,
  });
}

/** Letters of any script, digits, punctuation, spaces: no control or format characters; trimmed. */
export const printableText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((value) => !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value), 'must not contain control characters');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: anything else is unknown without a query (and would make PostgreSQL fail on the cast). */
export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * The distinct ids worth a query among those given, lower-case as stored: a non-UUID would fail
 * PostgreSQL's uuid cast and matches nothing anyway.
 */
export const storedIds = (ids: readonly string[]): string[] => [
  ...new Set(ids.filter(isUuid).map((id) => id.toLowerCase())),
];

/**
 * A list argument of ids (`field`) as `storedIds`, BAD_USER_INPUT past `max`: the batch fields other
 * services ask (viewerRelations, avatarsAmong, ...) answer at most that many at once.
 */
export function askedIds(ids: readonly string[], field: string, max = 1000): string[] {
  if (ids.length > max) throw badUserInput(`At most ${max} ids`, { field });
  return storedIds(ids);
}
