/**
 * A cluster worker's IAM reader: it asks the primary, which reads IAM once for
 * every worker (aws/iam-reader.ts), and compiles the answer itself.
 */
import {
  errorFromIamRead,
  parseIamFetch,
  parseIamReadError,
  type IamReader,
} from '../aws/iam-reader.js';
import type { IamFetch } from '../aws/iam-source.js';
import type { FromWorker, ToWorker } from '../transport/cluster/protocol.js';

/** Shortest wait for the primary's answer, ms; a longer refresh interval waits that long. */
const MIN_ANSWER_WAIT_MS = 120_000;

/** The reader, and the hooks the worker's message loop calls. */
export interface PrimaryIamReader {
  readonly read: IamReader;
  /** An `iam-read` answer from the primary. */
  answer(msg: Extract<ToWorker, { kind: 'iam-read' }>): void;
  /** The primary is gone: every read still waiting fails. */
  close(): void;
}

/** Reads through `send` (the IPC channel to the primary). */
export function primaryIamReader(send: (msg: FromWorker) => void): PrimaryIamReader {
  let nextId = 0;
  const waiting = new Map<
    number,
    { resolve: (f: IamFetch) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  const settle = (id: number) => {
    const w = waiting.get(id);
    if (w !== undefined) {
      clearTimeout(w.timer);
      waiting.delete(id);
    }
    return w;
  };
  return {
    read: (request) =>
      new Promise<IamFetch>((resolve, reject) => {
        const id = ++nextId;
        const waitMs = Math.max(MIN_ANSWER_WAIT_MS, request.iam.refreshSeconds * 1000);
        const timer = setTimeout(() => {
          settle(id)?.reject(new Error(`no IAM read from the primary within ${waitMs} ms`));
        }, waitMs);
        timer.unref();
        waiting.set(id, { resolve, reject, timer });
        send({ rolegate: 1, kind: 'iam-read', id, request: { ...request } });
      }),
    answer(msg) {
      const w = settle(msg.id);
      if (w === undefined) return;
      const fetch = parseIamFetch(msg.fetch);
      if (fetch !== undefined) return w.resolve(fetch);
      const error = parseIamReadError(msg.error);
      w.reject(
        error === undefined
          ? new Error('the primary answered the IAM read with something else')
          : errorFromIamRead(error),
      );
    },
    close() {
      for (const id of [...waiting.keys()]) settle(id)?.reject(new Error('the primary is gone'));
    },
  };
}
