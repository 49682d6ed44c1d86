import type { z } from 'zod';
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
