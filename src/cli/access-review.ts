import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { reviewSource } from '../core-steps.js';
import { reviewHeader, reviewRows } from '../plan/access-review.js';
import { writeReview, type ReviewFormat } from '../plan/access-review-format.js';
import { withCore } from './plan.js';

const FORMATS: readonly ReviewFormat[] = ['csv', 'jsonl', 'html'];

/** `access-review`: every FullStory teammate, their role, who grants it and who last changed it; exit 0, or 1 on error. */
export async function accessReview(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { format: { type: 'string', default: 'csv' }, out: { type: 'string' } } });
  const format = values.format as ReviewFormat;
  if (!FORMATS.includes(format)) throw new ConfigError(`--format is one of ${FORMATS.join(', ')}`);
  return withCore(async (c) => {
    // A progress line on a terminal only: a file or a pipe gets the review alone.
    const tty = process.stderr.isTTY;
    const progress = tty ? (done: number, total: number) => process.stderr.write(`\raccess review: ${done} of ${total} teammates read`) : undefined;
    const src = reviewSource(c, progress);
    const out = values.out ? createWriteStream(values.out) : process.stdout;
    const header = await writeReview(reviewRows(src), reviewHeader(src), format, out);
    if (values.out) {
      out.end();
      await once(out, 'close');
    }
    if (tty) process.stderr.write('\n');
    process.stderr.write(`access review: ${header.teammates} teammates${values.out ? ` written to ${values.out}` : ''}\n`);
    return 0;
  });
}
