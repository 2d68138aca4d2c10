// Option values as a plan or a URL parameter gives them (a URL gives only text): sizes, whole
// numbers and flags, and a checked option's first problem as one line.
import { z } from 'zod';

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "64MiB", "128 MB", "1048576" or a number of bytes. */
function parseSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(v.trim())!;
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

export const MiB = 1024 * 1024;

/** A number of bytes: a positive whole number, or text such as 64MiB or 128MB. */
export const sizeOption = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(\.\d+)?\s*([kmgKMG]i?[bB]|[bB])?$/, 'a size such as 64MiB, 128MB or a number of bytes'),
  ])
  .transform(parseSize);

/** true or false, or their text. */
export const flagOption = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/** A whole number from min to max, or its text. */
export function wholeNumberOption(min: number, max: number) {
  const error = `a whole number from ${min} to ${max}`;
  return z
    .union(
      [
        z.number(),
        z
          .string()
          .regex(/^-?\d+$/)
          .transform(Number),
      ],
      { error },
    )
    .pipe(z.number().int({ error }).min(min, { error }).max(max, { error }));
}

/** The first problem of options that failed their schema, as "<where>: unknown option x" or "<where> name: what is wrong". */
export function optionIssue(error: z.ZodError, where: string): string {
  const i = error.issues[0]!;
  const path = i.path.join('.');
  if (i.code === 'unrecognized_keys') return `${where}: unknown option ${i.keys.join(', ')}`;
  return `${where}${path ? ` ${path}` : ''}: ${i.message}`;
}
