import postgres from 'postgres';

/** What auto_explain reported for one executed statement. */
export interface ExplainedStatement {
  /** The statement's own text: for a statement inside a function, that statement alone. */
  query: string;
  /** Shared buffers its plan nodes touched (hit + read); its triggers' statements are not counted. */
  buffers: number;
  /** Every scan node that read a table: `Seq Scan on tasks`, `Index Scan using tasks_open`. */
  scans: string[];
  /** PostgreSQL compiled the statement's expressions (JIT): hundreds of ms for a small statement. */
  compiled: boolean;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

function scansOf(node: PlanNode): string[] {
  const own = node['Index Name']
    ? [`${node['Node Type']} using ${node['Index Name']}`]
    : node['Relation Name']
      ? [`${node['Node Type']} on ${node['Relation Name']}`]
      : [];
  return [...own, ...(node.Plans ?? []).flatMap(scansOf)];
}

/**
 * A session that reports the executed plan of every statement it runs, the statements inside
 * functions and triggers included: auto_explain (a contrib module that both the embedded server
 * and Debian's PostgreSQL ship) logs each plan as a notice to this client. EXPLAIN of a function
 * call shows only the call; this shows the statements within, each with its own buffers.
 */
export async function explainingSession(url: string) {
  const notices: string[] = [];
  const sql = postgres(url, { max: 1, onnotice: (notice) => notices.push(notice.message ?? '') });
  await sql`load 'auto_explain'`;
  const settings = {
    log_min_duration: '0',
    log_analyze: 'on',
    log_buffers: 'on',
    log_timing: 'off',
    log_nested_statements: 'on',
    log_format: 'json',
    log_level: 'notice',
  };
  for (const [name, value] of Object.entries(settings)) {
    await sql`select set_config(${`auto_explain.${name}`}, ${value}, false)`;
  }
  notices.length = 0;
  return {
    sql,
    /**
     * Runs `work` and returns the plans of the statements it executed, in the order they ended:
     * a statement's nested statements and triggers before the statement itself.
     */
    async explain(work: () => Promise<unknown>): Promise<ExplainedStatement[]> {
      notices.length = 0;
      await work();
      return notices.splice(0).map((notice) => {
        const report = JSON.parse(notice.slice(notice.indexOf('{'))) as {
          'Query Text': string;
          Plan: PlanNode;
          JIT?: unknown;
        };
        return {
          query: report['Query Text'],
          buffers: report.Plan['Shared Hit Blocks'] + report.Plan['Shared Read Blocks'],
          scans: scansOf(report.Plan),
          compiled: report.JIT !== undefined,
        };
      });
    },
    end: () => sql.end(),
  };
}

/** Collapses white space, so a statement's text can be found in a function's source. */
export function squeezed(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
