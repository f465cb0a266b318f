/**
 * Validation and compilation of one policy document. Every finding names
 * the file, the policy, the statement (Sid or `#index`) and the JSON path.
 * The document's own elements are read here; a statement's in
 * compile-statement.ts, its Condition in compile-conditions.ts.
 */
import {
  compileStatement,
  type CompiledStatement,
  type StatementEntry,
} from './compile-statement.js';
import { Compiler, isObject, typeName } from './compiler.js';
import { childPath } from './diagnostics.js';
import { compact } from './glob.js';
import { DEFAULT_KEY_REGISTRY, keyClassifier, type KeyRegistry } from './keys.js';
import type { CompiledPolicy, CompileResult, PolicyOrigin } from './types.js';

export type { CompiledStatement } from './compile-statement.js';

/** Options of {@link compilePolicy}; all optional. */
export interface CompileOptions {
  /** Which keys are single- and multivalued; defaults to {@link DEFAULT_KEY_REGISTRY}. */
  readonly keys?: KeyRegistry;
}

/** The engine's CompiledPolicy. */
export class PolicyImpl implements CompiledPolicy {
  readonly name: string;
  declare readonly file?: string;
  readonly kind: 'identity' | 'resource';
  readonly statementCount: number;
  readonly variables: readonly string[];
  readonly statements: readonly CompiledStatement[];

  constructor(
    origin: PolicyOrigin,
    kind: 'identity' | 'resource',
    statements: readonly CompiledStatement[],
    variables: readonly string[],
  ) {
    this.name = origin.name;
    if (origin.file !== undefined) this.file = origin.file;
    this.kind = kind;
    this.statements = statements;
    this.statementCount = statements.length;
    this.variables = variables;
  }
}

const DOC_ELEMENTS = new Set(['Version', 'Id', 'Statement']);
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
// Classifying the default registry once, not per document, keeps loading many policies cheap.
const DEFAULT_CLASSIFIER = keyClassifier(DEFAULT_KEY_REGISTRY);

/**
 * Validates and compiles a document. `policy` is present only when there
 * are no errors; warnings may come with it. `origin.kind` defaults to
 * `identity`; a `trust` policy compiles as a resource policy.
 */
export function compilePolicy(
  document: unknown,
  origin: PolicyOrigin,
  options?: CompileOptions,
): CompileResult {
  const classify = options?.keys !== undefined ? keyClassifier(options.keys) : DEFAULT_CLASSIFIER;
  const c = new Compiler(origin, classify);
  const trust = origin.kind === 'trust';
  const kind = origin.kind === 'trust' ? 'resource' : (origin.kind ?? 'identity');
  if (!isObject(document)) {
    c.error(
      'ERR_POLICY_SHAPE',
      `a policy document must be a JSON object, not ${typeName(document)}`,
      '$',
    );
    return { diagnostics: c.diagnostics };
  }
  for (const key of Object.keys(document)) {
    if (!DOC_ELEMENTS.has(key)) {
      c.error(
        'ERR_POLICY_UNKNOWN_ELEMENT',
        `"${key}" is not a policy element (Version, Id, Statement)`,
        childPath('$', key),
      );
    }
  }
  const variables = checkVersion(c, document['Version']);
  const id = document['Id'];
  if (id !== undefined && typeof id !== 'string') {
    c.error('ERR_POLICY_SHAPE', `Id must be a string, not ${typeName(id)}`, '$.Id');
  }
  const statementOptions = { kind, trust, variables, sids: new Set<string>() };
  const compiled: CompiledStatement[] = [];
  for (const entry of statementEntries(c, document['Statement'])) {
    const s = compileStatement(c, entry, statementOptions);
    if (s !== undefined) compiled.push(s);
    c.statement = undefined;
  }
  const hasError = c.diagnostics.some((d) => d.severity === 'error');
  if (hasError) return { diagnostics: c.diagnostics };
  return {
    policy: new PolicyImpl(origin, kind, compact(compiled), [...c.variables]),
    diagnostics: c.diagnostics,
  };
}

/**
 * Whether `${...}` is a policy variable: only under Version 2012-10-17. An
 * absent Version is IAM's 2008-10-17, which has none.
 */
function checkVersion(c: Compiler, version: unknown): boolean {
  if (version === undefined) return false;
  if (typeof version !== 'string') {
    c.error('ERR_POLICY_SHAPE', `Version must be a string, not ${typeName(version)}`, '$.Version');
    return false;
  }
  if (!VERSIONS.has(version)) {
    c.error(
      'ERR_POLICY_VERSION',
      `Version "${version}" is neither "2012-10-17" nor "2008-10-17"`,
      '$.Version',
    );
    return false;
  }
  return version === '2012-10-17';
}

/** The statements to compile: IAM takes one statement object as well as a list of them. */
function statementEntries(c: Compiler, stmts: unknown): StatementEntry[] {
  if (stmts === undefined) {
    c.error('ERR_POLICY_MISSING_ELEMENT', 'the document has no Statement', '$');
    return [];
  }
  if (Array.isArray(stmts)) {
    if (stmts.length === 0)
      c.error('ERR_POLICY_MISSING_ELEMENT', 'the Statement list is empty', '$.Statement');
    return stmts.map((value: unknown, index) => ({ value, path: `$.Statement[${index}]`, index }));
  }
  if (isObject(stmts)) return [{ value: stmts, path: '$.Statement', index: 0 }];
  c.error(
    'ERR_POLICY_SHAPE',
    `Statement must be an object or a list of objects, not ${typeName(stmts)}`,
    '$.Statement',
  );
  return [];
}
