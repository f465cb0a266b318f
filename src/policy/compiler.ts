/**
 * The state one document's compilation shares between its parts: where a
 * finding is located (file, policy, statement) and the findings so far.
 * Passed down explicitly rather than kept in a module global, so that
 * compilation stays pure and documents can be compiled side by side.
 */
import type { ErrorCode } from '../errors.js';
import { childPath } from './diagnostics.js';
import type { KeyClassifier } from './keys.js';
import type { Diagnostic, PolicyOrigin } from './types.js';

/** A JSON object: not `null` and not a list, which `typeof` also calls objects. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a finding names the JSON type it refused: `null`, `a list`, `an object`, `a number`... */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A string written in a policy, with the JSON path its findings point at. */
export interface Located {
  readonly text: string;
  readonly path: string;
}

/** Collects one document's findings, each located in the statement being compiled. */
export class Compiler {
  readonly diagnostics: Diagnostic[] = [];
  readonly origin: PolicyOrigin;
  readonly classify: KeyClassifier;
  /** Lower-cased keys used as policy variables anywhere in the document. */
  readonly variables = new Set<string>();
  /** The statement findings are attributed to; `undefined` between statements. */
  statement: string | undefined;

  constructor(origin: PolicyOrigin, classify: KeyClassifier) {
    this.origin = origin;
    this.classify = classify;
    this.statement = undefined;
  }

  report(severity: 'error' | 'warning', code: ErrorCode, message: string, path: string): void {
    const d: {
      severity: 'error' | 'warning';
      code: ErrorCode;
      message: string;
      policy: string;
      path: string;
      file?: string;
      statement?: string;
    } = { severity, code, message, policy: this.origin.name, path };
    if (this.origin.file !== undefined) d.file = this.origin.file;
    if (this.statement !== undefined) d.statement = this.statement;
    this.diagnostics.push(d);
  }

  error(code: ErrorCode, message: string, path: string): void {
    this.report('error', code, message, path);
  }

  /** Whether any error was reported after the first `since` diagnostics. */
  erredSince(since: number): boolean {
    return this.diagnostics.slice(since).some((d) => d.severity === 'error');
  }

  /** A string or non-empty list of strings; reports and returns undefined otherwise. */
  stringList(value: unknown, path: string, element: string): Located[] | undefined {
    if (typeof value === 'string') return [{ text: value, path }];
    if (!Array.isArray(value)) {
      this.error(
        'ERR_POLICY_SHAPE',
        `${element} must be a string or a list of strings, not ${typeName(value)}`,
        path,
      );
      return undefined;
    }
    if (value.length === 0) {
      this.error('ERR_POLICY_SHAPE', `${element} must not be an empty list`, path);
      return undefined;
    }
    const out: Located[] = [];
    let ok = true;
    value.forEach((v: unknown, i) => {
      const p = childPath(path, i);
      if (typeof v === 'string') out.push({ text: v, path: p });
      else {
        ok = false;
        this.error('ERR_POLICY_SHAPE', `${element} entries must be strings, not ${typeName(v)}`, p);
      }
    });
    return ok ? out : undefined;
  }

  /**
   * Records the keys a value substitutes and refuses multivalued ones: a
   * variable stands for one string, and IAM gives no rule for which of
   * several values it would take.
   */
  checkVariableKeys(vars: readonly string[], path: string): boolean {
    let ok = true;
    for (const v of vars) {
      this.variables.add(v.toLowerCase());
      if (this.classify.classify(v) === 'multi') {
        ok = false;
        this.error(
          'ERR_POLICY_VARIABLE_MULTIVALUED',
          `"\${${v}}": ${v} is a multivalued key and cannot be used as a policy variable`,
          path,
        );
      }
    }
    return ok;
  }
}
