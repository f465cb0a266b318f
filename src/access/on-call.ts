/**
 * Who is on call (`rolegate:OnCall`, for approval rules such as "on-call
 * engineers are approved at once for an hour"): a requester in one of the
 * configured groups, or one of the subjects a file lists. The file is read
 * again when its modification time or size changes, so the rota tool that
 * writes it needs no restart of rolegate; one that cannot be read, parsed
 * or is too large lists nobody (nobody is approved by it: fail closed).
 */
import { readFileSync, statSync } from 'node:fs';

/** Largest on-call file read, in bytes. */
export const ON_CALL_FILE_MAX_BYTES = 1024 * 1024;

/** Options of {@link onCallReader}; defaults in `access.onCall`. */
export interface OnCallOptions {
  /** Groups whose members are on call. */
  readonly groups: readonly string[];
  /** Absolute path of the subjects file, when configured. */
  readonly file?: string;
  /** Told once per change of the file's state (read, or why not). */
  readonly onFile?: (ok: boolean, detail: string) => void;
}

/** The subjects a parsed file lists: `["alice", ...]` or `{"subjects": [...]}`; undefined when neither. */
function subjectsOf(parsed: unknown): Set<string> | undefined {
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' &&
        parsed !== null &&
        Array.isArray((parsed as { subjects?: unknown }).subjects)
      ? (parsed as { subjects: unknown[] }).subjects
      : undefined;
  if (list === undefined || !list.every((s) => typeof s === 'string')) return undefined;
  return new Set(list as string[]);
}

/** `(subject, groups) => on call now`, reading the file as it changes. */
export function onCallReader(
  options: OnCallOptions,
): (subject: string, groups: readonly string[]) => boolean {
  const groups = new Set(options.groups);
  let stamp = '';
  let subjects = new Set<string>();
  let lastError: string | undefined;
  const failed = (why: string) => {
    subjects = new Set();
    if (why !== lastError) options.onFile?.(false, why);
    lastError = why;
  };
  const fromFile = (file: string): Set<string> => {
    let st;
    try {
      st = statSync(file);
    } catch (err) {
      // Not there (yet): looked for again on the next question.
      stamp = '';
      failed(err instanceof Error ? err.message : String(err));
      return subjects;
    }
    const now = `${st.mtimeMs}:${st.size}`;
    if (now === stamp) return subjects;
    stamp = now;
    try {
      if (st.size > ON_CALL_FILE_MAX_BYTES) {
        throw new Error(`larger than ${ON_CALL_FILE_MAX_BYTES} bytes`);
      }
      const read = subjectsOf(JSON.parse(readFileSync(file, 'utf8')) as unknown);
      if (read === undefined) {
        throw new Error('neither a JSON array of subjects nor {"subjects": [...]}');
      }
      subjects = read;
      lastError = undefined;
      options.onFile?.(true, `${read.size} subjects`);
    } catch (err) {
      failed(err instanceof Error ? err.message : String(err));
    }
    return subjects;
  };
  return (subject, memberOf) =>
    memberOf.some((g) => groups.has(g)) ||
    (options.file !== undefined && fromFile(options.file).has(subject));
}
