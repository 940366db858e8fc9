// Registers an OpenTelemetry SDK in the CLI's process (`NODE_OPTIONS=--import …`), as a user
// would: a BatchSpanProcessor, which holds spans for seconds, exporting to SPANS_FILE as JSON lines.
import { appendFileSync } from 'node:fs';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const exporter = {
  export(spans, done) {
    const lines = spans.map((span) =>
      JSON.stringify({ name: span.name, attributes: span.attributes, status: span.status }),
    );
    appendFileSync(process.env.SPANS_FILE, lines.map((line) => `${line}\n`).join(''));
    done({ code: 0 });
  },
  shutdown: async () => {},
};
trace.setGlobalTracerProvider(
  new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000 })],
  }),
);
