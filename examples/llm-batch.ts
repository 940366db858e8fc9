// A model provider's token limit: send prompts to a provider that limits tokens per
// minute. The cost function estimates each prompt's tokens before the call (prompt + the most the
// answer may take); the real usage settles the estimate after it. The job stays under the budget,
// so in steady state the provider never answers 429.
//
//   npx sluice run examples/llm-batch.ts --out answers.jsonl
//   LLM_URL=http://127.0.0.1:8789 npx sluice run examples/llm-batch.ts
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { chunks, defineJob, throwIfThrottled } from 'sluice';
import { HttpClient } from './demo/httpClient.ts';
import { startLlmPeer } from './peers/llm.ts';

interface Prompt {
  id: number;
  prompt: string;
}

const promptsFile = process.env.PROMPTS_FILE ?? '.sluice/demo/prompts.jsonl';
const prompts = Number(process.env.PROMPTS ?? 300);
const maxTokens = 64;
// The provider's budget; the job takes 95% of it (BUDGET_SHARE).
const tokensPerMinute = Number(process.env.TOKENS_PER_MINUTE ?? 60_000);
let llmUrl = process.env.LLM_URL;

/** Roughly 4 characters a token, plus the longest answer allowed: never an underestimate. */
const estimateTokens = (item: Prompt) => Math.ceil(item.prompt.length / 4) + maxTokens;

export default defineJob({
  name: process.env.JOB_NAME ?? 'llm-batch',
  source: chunks<Prompt>(promptsFile, 20),
  maxParallelism: 10,
  rateLimit: {
    perMinute: Math.floor(tokensPerMinute * Number(process.env.BUDGET_SHARE ?? 0.95)),
    cost: (item) => estimateTokens(item as Prompt),
  },
  retry: { attempts: 4, baseMs: 1000 },
  async prepare() {
    if (!(await stat(promptsFile).catch(() => undefined))) {
      await mkdir(dirname(promptsFile), { recursive: true });
      const lines = Array.from({ length: prompts }, (_, i) =>
        JSON.stringify({
          id: i + 1,
          prompt: `Summarise ticket ${i + 1}: ${'the customer reports a problem. '.repeat(1 + (i % 9))}`,
        }),
      );
      await writeFile(promptsFile, `${lines.join('\n')}\n`);
    }
    llmUrl ??= (await startLlmPeer({ tokensPerWindow: tokensPerMinute })).url;
  },
  setup: () => new HttpClient(),
  teardown: (client) => client.close(),
  async each(item, { resource: client, signal, limit }) {
    const response = throwIfThrottled(
      await client.post(
        `${llmUrl}/v1/complete`,
        { prompt: item.prompt, max_tokens: maxTokens },
        signal,
      ),
    );
    if (response.status !== 200)
      throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    const answer = JSON.parse(response.body) as { text: string; usage: { total_tokens: number } };
    // The estimate was an upper bound; give back what the answer did not use.
    limit.settle(answer.usage.total_tokens);
    return { id: item.id, text: answer.text, tokens: answer.usage.total_tokens };
  },
});
