import { expected } from '../errors.ts';
import type { Job } from '../job/types.ts';
import type { PacingOptions, RateLimitOptions } from '../limit/types.ts';
import { validateLimits } from '../limit/validate.ts';

/** What `--rate-limit` and `--pacing` (flags.ts) parse to. */
export interface LimitFlags {
  rateLimit?: string;
  pacing?: string;
}

/**
 * Applies `--rate-limit 900/s` (or `60000/min`) and `--pacing 500+250` (ms, plus jitter) over
 * the job's own limits. A per-minute override keeps the job's cost function.
 */
export function withLimitFlags(job: Job, flags: LimitFlags): Job {
  const rateLimit = flags.rateLimit === undefined ? job.rateLimit : parseRate(flags.rateLimit, job);
  const pacing = flags.pacing === undefined ? job.pacing : parsePacing(flags.pacing);
  validateLimits({ rateLimit, pacing });
  return { ...job, rateLimit, pacing };
}

function parseRate(text: string, job: Job): RateLimitOptions {
  const match = /^(\d+(?:\.\d+)?)\/(s|sec|min)$/.exec(text.trim());
  if (!match) throw expected('--rate-limit', 'a rate such as `900/s` or `60000/min`', text);
  const amount = Number(match[1]);
  return match[2] === 'min'
    ? { perMinute: amount, cost: job.rateLimit?.cost }
    : { perSecond: amount };
}

function parsePacing(text: string): PacingOptions {
  const match = /^(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!match)
    throw expected(
      '--pacing',
      'milliseconds between items, such as `500` or `500+250` (with jitter)',
      text,
    );
  return {
    minIntervalMs: Number(match[1]),
    jitterMs: match[2] === undefined ? 0 : Number(match[2]),
  };
}
