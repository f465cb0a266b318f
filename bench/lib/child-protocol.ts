/**
 * Child side of the bench server protocol (see bench/lib/README.md).
 *
 * stdout (one line each, nothing else on stdout):
 *   HEADER <name>: <value>   optional, before PORT: header for the bench request
 *   PATH <path>              optional, before PORT: :path of the bench request
 *   METHOD <method>          optional, before PORT: :method of the bench request
 *   PORT <n>                 once listening on 127.0.0.1:<n> (h2c gRPC)
 *   COUNTS <allow> <deny>    reply to the stdin line `counts`
 * stdin: `counts` → COUNTS line; EOF → exit. SIGTERM/SIGINT → exit.
 * Logs go to stderr.
 */
import { createInterface } from 'node:readline';

export interface DecisionCounts {
  readonly allow: number;
  readonly deny: number;
}

export interface ChildAnnouncement {
  readonly port: number;
  /** Cumulative decision counters, read on each `counts` request. */
  readonly counts: () => DecisionCounts;
  /** Extra request headers the load generator must send (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly path?: string;
  readonly method?: string;
  /** Called before exiting (stdin EOF or signal). */
  readonly shutdown?: () => void | Promise<void>;
}

/** Announce a listening bench server to the parent and serve `counts` requests. */
export function announceToParent(a: ChildAnnouncement): void {
  const out: string[] = [];
  for (const [name, value] of Object.entries(a.headers ?? {})) {
    if (/[\r\n]/.test(name + value)) throw new Error(`bench header ${name} contains a newline`);
    out.push(`HEADER ${name}: ${value}`);
  }
  if (a.path !== undefined) out.push(`PATH ${a.path}`);
  if (a.method !== undefined) out.push(`METHOD ${a.method}`);
  out.push(`PORT ${a.port}`);
  process.stdout.write(out.join('\n') + '\n');

  let exiting = false;
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    Promise.resolve(a.shutdown?.())
      .catch((err: unknown) => console.error('bench child shutdown failed:', err))
      .finally(() => process.exit(0));
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'counts') {
      const c = a.counts();
      process.stdout.write(`COUNTS ${c.allow} ${c.deny}\n`);
    }
  });
  lines.on('close', exit);
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
}
