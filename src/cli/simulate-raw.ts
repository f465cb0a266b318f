/**
 * `rolegate simulate` (raw mode): JSON Lines in, one JSON line out per
 * non-blank input line, in order.
 *
 * Input line:
 *   {"policies": [doc, ...], "permissionBoundaries"?: [doc, ...],
 *    "sessionPolicy"?: doc, "guardrails"?: [doc, ...],
 *    "policyKind"?: "identity" | "resource", "principal"?: {"Federated": [...]},
 *    "action": "svc:Name", "resource": "arn:...", "context"?: {key: value}}
 * Output line: {"decision": ..., "determining": [...], "errors"?: [...]}
 *   or {"error": {"code": "ERR_...", "message": ...}} for an invalid line.
 * Blank (whitespace-only) lines are skipped and produce no output.
 * Compiled policy sets are cached by the canonical JSON of the policy
 * fields (LRU), so repeated policies are compiled once.
 */
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { RolegateError, type ErrorCode } from '../errors.js';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  formatDiagnostic,
  type CompiledPolicy,
  type ContextInput,
  type ContextValue,
  type PolicySet,
  type RequestPrincipal,
} from '../policy/index.js';

export interface RawSimulateOptions {
  /** Maximum cached policy sets (default 1,000). */
  readonly cacheSize?: number;
  /** Called each time a policy set is compiled (tests count compiles with it). */
  readonly onCompile?: () => void;
}

type Cached = { readonly set: PolicySet } | { readonly error: RolegateError };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with object keys sorted, so equal policies give equal cache keys. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function shape(message: string): RolegateError {
  return new RolegateError('ERR_INPUT_SHAPE', message);
}

function docList(
  line: Record<string, unknown>,
  field: string,
  required: boolean,
): unknown[] | undefined {
  const v = line[field];
  if (v === undefined) {
    if (required) throw shape(`"${field}" is required`);
    return undefined;
  }
  if (!Array.isArray(v)) throw shape(`"${field}" must be a list of policy documents`);
  return v;
}

function compileLayer(
  docs: readonly unknown[] | undefined,
  field: string,
  kind: 'identity' | 'resource',
): CompiledPolicy[] | undefined {
  if (docs === undefined) return undefined;
  return docs.map((doc, i) => {
    const name = `${field}[${i}]`;
    const r = compilePolicy(doc, { name, kind });
    if (r.policy === undefined) {
      const errs = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
      throw new RolegateError('ERR_INPUT_POLICY', errs.join('; '));
    }
    return r.policy;
  });
}

function buildSet(line: Record<string, unknown>, kind: 'identity' | 'resource'): PolicySet {
  const policies = docList(line, 'policies', true) ?? [];
  const boundaries = docList(line, 'permissionBoundaries', false);
  const guardrails = docList(line, 'guardrails', false);
  const session = line['sessionPolicy'];
  const identity = compileLayer(policies, 'policies', kind) ?? [];
  const boundary = compileLayer(boundaries, 'permissionBoundaries', 'identity');
  const guard = compileLayer(guardrails, 'guardrails', 'identity');
  const sess =
    session === undefined ? undefined : compileLayer([session], 'sessionPolicy', 'identity');
  return createPolicySet({
    identity,
    ...(boundary !== undefined ? { boundary } : {}),
    ...(guard !== undefined ? { guardrails: guard } : {}),
    ...(sess !== undefined ? { session: sess } : {}),
  });
}

function contextOf(v: unknown): ContextInput {
  if (v === undefined) return {};
  if (!isObject(v)) throw shape('"context" must be an object');
  const out: Record<string, ContextValue> = {};
  const scalar = (x: unknown): x is string | number | boolean =>
    typeof x === 'string' ||
    typeof x === 'boolean' ||
    (typeof x === 'number' && Number.isFinite(x));
  for (const [k, val] of Object.entries(v)) {
    if (scalar(val)) out[k] = val;
    else if (Array.isArray(val) && val.every(scalar)) out[k] = val;
    else throw shape(`context key "${k}" must be a string, number, boolean or a list of them`);
  }
  return out;
}

function principalOf(v: unknown): RequestPrincipal | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw shape('"principal" must be an object of principal type to identities');
  const out: Record<string, string[]> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string') out[k] = [val];
    else if (Array.isArray(val) && val.every((x) => typeof x === 'string')) out[k] = val;
    else throw shape(`principal "${k}" must be a string or a list of strings`);
  }
  return out;
}

/** Evaluates one input line; returns the output object. */
function processLine(
  text: string,
  cache: Map<string, Cached>,
  options: RawSimulateOptions,
): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RolegateError(
      'ERR_INPUT_SYNTAX',
      `invalid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!isObject(parsed)) throw shape('an input line must be a JSON object');
  const kindRaw = parsed['policyKind'];
  if (kindRaw !== undefined && kindRaw !== 'identity' && kindRaw !== 'resource') {
    throw shape('"policyKind" must be "identity" or "resource"');
  }
  const kind = kindRaw ?? 'identity';
  const action = parsed['action'];
  const resource = parsed['resource'];
  if (typeof action !== 'string') throw shape('"action" must be a string');
  if (typeof resource !== 'string') throw shape('"resource" must be a string');
  const context = buildContext(contextOf(parsed['context']));
  const principal = principalOf(parsed['principal']);

  const key = canonicalJson([
    kind,
    parsed['policies'] ?? null,
    parsed['permissionBoundaries'] ?? null,
    parsed['sessionPolicy'] ?? null,
    parsed['guardrails'] ?? null,
  ]);
  let entry = cache.get(key);
  if (entry !== undefined) {
    cache.delete(key);
    cache.set(key, entry); // most recently used last
  } else {
    options.onCompile?.();
    try {
      entry = { set: buildSet(parsed, kind) };
    } catch (err) {
      if (!(err instanceof RolegateError)) throw err;
      entry = { error: err };
    }
    cache.set(key, entry);
    const max = options.cacheSize ?? 1000;
    while (cache.size > max) {
      const oldest = cache.keys().next();
      if (oldest.done === true) break;
      cache.delete(oldest.value);
    }
  }
  if ('error' in entry) throw entry.error;
  const d = evaluate(entry.set, {
    action,
    resource,
    context,
    ...(principal !== undefined ? { principal } : {}),
  });
  return d.errors.length > 0
    ? { decision: d.decision, determining: d.determining, errors: d.errors }
    : { decision: d.decision, determining: d.determining };
}

/** Runs raw simulation over a stream; resolves to the exit status (1 when any line failed). */
export async function runRawSimulate(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  options: RawSimulateOptions = {},
): Promise<number> {
  const cache = new Map<string, Cached>();
  const rl = createInterface({ input, crlfDelay: Infinity });
  let status = 0;
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let out: unknown;
    try {
      out = processLine(line, cache, options);
    } catch (err) {
      status = 1;
      const code: ErrorCode = err instanceof RolegateError ? err.code : 'ERR_INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      out = { error: { code, message } };
    }
    if (!output.write(`${JSON.stringify(out)}\n`)) await once(output, 'drain');
  }
  return status;
}
