// A fake model provider that limits tokens per minute, for the LLM batch example and its tests.
// Token counts are deterministic, so a job can estimate its cost with `promptTokens` and
// `completionTokens` before it calls. `windowMs` scales the minute down so tests take seconds.
// `node --import tsx examples/peers/llm.ts --tokens-per-window 60000` prints its URL.
import {
  type Peer,
  pause,
  readBody,
  sendJson,
  sendTooManyRequests,
  startHttpPeer,
} from './httpPeer.ts';
import {
  isMainModule,
  type ListenOptions,
  resolveOptions,
  serveFromCommandLine,
  wholeNumber,
} from './peerOptions.ts';
import { stableHash } from './stableHash.ts';
import { SlidingWindow } from './window.ts';

export interface LlmPeerOptions extends ListenOptions {
  /** Total tokens (prompt + completion) accepted in any sliding `windowMs`. Default 60,000. */
  tokensPerWindow?: number;
  /** Accepted requests in any sliding `windowMs`; Infinity: no request limit. Default Infinity. */
  requestsPerWindow?: number;
  /** Length of the sliding window. Default 60,000 (a minute). */
  windowMs?: number;
  /** Time an accepted completion takes before it is answered. Default 20. */
  latencyMs?: number;
}

export const llmPeerDefaults = {
  port: 0,
  tokensPerWindow: 60_000,
  requestsPerWindow: Infinity,
  windowMs: 60_000,
  latencyMs: 20,
} satisfies Required<LlmPeerOptions>;

/** `max_tokens` when a request leaves it out. */
export const defaultMaxTokens = 256;

export interface LlmPeerStats {
  accepted: number;
  rejected429: number;
  /** 413s: requests larger than the whole window's budget, which no wait could admit. */
  tooLarge: number;
  badRequest: number;
  promptTokens: number;
  completionTokens: number;
  /** promptTokens + completionTokens of accepted requests. */
  tokensUsed: number;
  /** The most tokens accepted in any sliding `windowMs`. */
  worstWindowTokens: number;
  /** The most requests accepted in any sliding `windowMs`. */
  worstWindowRequests: number;
  /** `performance.now()` of every accepted request, with its total tokens at the same index. */
  acceptedAt: number[];
  acceptedTokens: number[];
  /** `performance.now()` of every 429. */
  rejectedAt: number[];
}

export interface Completion {
  text: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** The provider's token count for a prompt: one token per four characters, rounded up. */
export function promptTokens(prompt: string): number {
  return Math.ceil(prompt.length / 4);
}

/** Tokens the provider writes for `prompt`: 16 to 128, fixed by the prompt, capped by maxTokens. */
export function completionTokens(prompt: string, maxTokens = defaultMaxTokens): number {
  return Math.min(maxTokens, 16 + (stableHash(prompt) % 113));
}

const words = ['the', 'data', 'shows', 'that', 'each', 'batch', 'ran', 'well', 'and', 'on', 'time'];

/** The completion for `prompt`, the same on every run; each word counts as one token. */
export function complete(prompt: string, maxTokens = defaultMaxTokens): Completion {
  const count = completionTokens(prompt, maxTokens);
  let state = stableHash(prompt) || 1;
  const text = Array.from({ length: count }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return words[(state >>> 0) % words.length];
  }).join(' ');
  const prompt_tokens = promptTokens(prompt);
  return {
    text,
    usage: { prompt_tokens, completion_tokens: count, total_tokens: prompt_tokens + count },
  };
}

export async function startLlmPeer(given: LlmPeerOptions = {}): Promise<Peer<LlmPeerStats>> {
  const options = resolveOptions(given, llmPeerDefaults, {
    port: wholeNumber(0),
    tokensPerWindow: wholeNumber(1),
    requestsPerWindow: wholeNumber(1, true),
    windowMs: wholeNumber(1),
    latencyMs: wholeNumber(0),
  });
  const tokenWindow = new SlidingWindow(options.windowMs, options.tokensPerWindow);
  const requestWindow = new SlidingWindow(options.windowMs, options.requestsPerWindow);
  const acceptedAt: number[] = [];
  const acceptedTokens: number[] = [];
  const rejectedAt: number[] = [];
  const counts = { tooLarge: 0, badRequest: 0, promptTokens: 0, completionTokens: 0 };

  const stats = (): LlmPeerStats => ({
    accepted: acceptedAt.length,
    rejected429: rejectedAt.length,
    ...counts,
    tokensUsed: counts.promptTokens + counts.completionTokens,
    worstWindowTokens: tokenWindow.worst,
    worstWindowRequests: requestWindow.worst,
    acceptedAt: [...acceptedAt],
    acceptedTokens: [...acceptedTokens],
    rejectedAt: [...rejectedAt],
  });

  const refuse = (res: Parameters<typeof sendJson>[0], status: 400 | 413, message: string) => {
    if (status === 400) counts.badRequest += 1;
    else counts.tooLarge += 1;
    sendJson(res, status, { error: { type: 'invalid_request', message } });
  };

  return startHttpPeer(
    options.port,
    async ({ req, res, path, signal }) => {
      if (path !== '/v1/complete') return sendJson(res, 404, { error: { type: 'not_found' } });
      if (req.method !== 'POST') return sendJson(res, 405, { error: { type: 'method' } });
      const body = await readBody(req, 1_000_000);
      if (body === undefined) return refuse(res, 413, 'Body over 1 MB');
      let request: { prompt?: unknown; max_tokens?: unknown };
      try {
        request = JSON.parse(body) ?? {};
      } catch {
        return refuse(res, 400, 'Body is not JSON');
      }
      const { prompt, max_tokens: maxTokens = defaultMaxTokens } = request;
      if (typeof prompt !== 'string' || prompt === '') {
        return refuse(res, 400, '`prompt` must be a non-empty string');
      }
      if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) {
        return refuse(res, 400, '`max_tokens` must be a whole number >= 1');
      }
      // Charged in full when admitted, as providers reserve a request's tokens up front.
      const completion = complete(prompt, maxTokens as number);
      const cost = completion.usage.total_tokens;
      if (cost > options.tokensPerWindow) {
        return refuse(res, 413, `${cost} tokens is over the ${options.tokensPerWindow} limit`);
      }
      const now = performance.now();
      const waitMs = Math.max(tokenWindow.waitMs(now, cost), requestWindow.waitMs(now, 1));
      if (waitMs > 0) {
        rejectedAt.push(now);
        return sendTooManyRequests(res, waitMs, {
          error: {
            type: 'rate_limit',
            message: `${cost} tokens would exceed ${options.tokensPerWindow} per ${options.windowMs} ms`,
            retry_after_ms: Math.ceil(waitMs),
          },
        });
      }
      tokenWindow.record(now, cost);
      requestWindow.record(now, 1);
      acceptedAt.push(now);
      acceptedTokens.push(cost);
      counts.promptTokens += completion.usage.prompt_tokens;
      counts.completionTokens += completion.usage.completion_tokens;
      if (!(await pause(options.latencyMs, signal))) return;
      sendJson(res, 200, completion, {
        'x-ratelimit-remaining-tokens':
          options.tokensPerWindow - tokenWindow.used(performance.now()),
      });
    },
    stats,
  );
}

if (isMainModule(import.meta.url)) await serveFromCommandLine(llmPeerDefaults, startLlmPeer);
