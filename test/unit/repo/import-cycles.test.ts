/**
 * The imports of src/ keep to ARCHITECTURE.md.
 *
 * ARCHITECTURE.md's table ("Folders and what they may import") names, for
 * each folder of src/ (and each top-level file: `errors.ts`, `main.ts`,
 * ...), the folders, or single files of a folder, it may import. This test
 * reads that table, so the document and the test cannot drift apart, and
 * checks:
 *
 * - the table itself: one row per folder of src/, each allowance naming a
 *   row above it (so the allowed graph has no cycle), and the layering the
 *   document states (policy/ imports only errors; leaves import nothing;
 *   generation/ only types; nothing below transport/ imports it; config/,
 *   serve/, cli/ and main are imported only from above);
 * - the code against the table: every relative import, re-export, dynamic
 *   `import()` and `import('…')` type between folders is allowed (type-only
 *   imports count: they couple the folders just the same), and the folder
 *   graph has no cycle;
 * - the files inside each folder import each other without a cycle;
 * - `process.env` is read only under src/config/.
 *
 * Each failure names the file and the import (or line) that breaks the rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const ARCHITECTURE = fileURLToPath(new URL('../../../ARCHITECTURE.md', import.meta.url));

/** One import of one file: where it is, what it names and the file it resolves to (relative to src/, `/`-separated). */
interface ImportSite {
  readonly file: string;
  readonly specifier: string;
  readonly target: string;
}

/** Folder graph: `from -> to -> the imports that make the edge`. */
type FolderGraph = Map<string, Map<string, ImportSite[]>>;

const posix = (path: string): string => path.split(sep).join('/');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The node a file of src/ belongs to: its top-level folder, or its own name for a top-level file. */
function nodeOf(file: string): string {
  const parts = posix(file).split('/');
  return parts.length === 1 ? (parts[0] ?? '').replace(/\.[jt]s$/, '') : (parts[0] ?? '');
}

/**
 * Every relative import, re-export, dynamic `import()` and `import('…')`
 * type of every file under `src` that resolves into `src`. Targets are
 * source files: `./x.js` names `x.ts`.
 */
function importSites(src: string): ImportSite[] {
  return sourceFiles(src).flatMap((path) => {
    const file = posix(relative(src, path));
    const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    return importedFiles.flatMap(({ fileName }) => {
      if (!fileName.startsWith('.')) return [];
      const target = posix(relative(src, resolve(dirname(path), fileName)));
      if (target.startsWith('..')) return [];
      return [{ file, specifier: fileName, target: target.replace(/\.js$/, '.ts') }];
    });
  });
}

/** The imports between folders (a top-level file is a node of its own), as edges. */
function folderGraph(sites: readonly ImportSite[]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const site of sites) {
    const from = nodeOf(site.file);
    const to = nodeOf(site.target);
    if (from === to) continue;
    const edges = graph.get(from) ?? new Map<string, ImportSite[]>();
    graph.set(from, edges);
    const list = edges.get(to) ?? [];
    edges.set(to, list);
    list.push(site);
  }
  return graph;
}

/** For each folder, the imports between its own files, as edges between files. */
function fileGraphs(sites: readonly ImportSite[]): Map<string, FolderGraph> {
  const graphs = new Map<string, FolderGraph>();
  for (const site of sites) {
    const folder = nodeOf(site.file);
    if (folder !== nodeOf(site.target) || !site.file.includes('/')) continue;
    const graph = graphs.get(folder) ?? new Map<string, Map<string, ImportSite[]>>();
    graphs.set(folder, graph);
    const edges = graph.get(site.file) ?? new Map<string, ImportSite[]>();
    graph.set(site.file, edges);
    const list = edges.get(site.target) ?? [];
    edges.set(site.target, list);
    list.push(site);
  }
  return graphs;
}

/**
 * Every elementary cycle of `graph`, each written once, from its
 * alphabetically first node and closed (`a -> b -> a`), sorted.
 */
export function cyclesOf(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[] {
  const cycles: string[] = [];
  const next = (node: string) => [...(graph.get(node)?.keys() ?? [])].sort();
  for (const start of [...graph.keys()].sort()) {
    const path = [start];
    const walk = (node: string): void => {
      for (const to of next(node)) {
        if (to === start) cycles.push([...path, start].join(' -> '));
        else if (to > start && !path.includes(to)) {
          path.push(to);
          walk(to);
          path.pop();
        }
      }
    };
    walk(start);
  }
  return cycles.sort();
}

/** A cycle with the imports behind each of its edges, for the failure message. */
function explain(cycle: string, graph: FolderGraph): string {
  const nodes = cycle.split(' -> ');
  const lines = [cycle];
  for (let i = 0; i + 1 < nodes.length; i++) {
    const from = nodes[i] ?? '';
    const to = nodes[i + 1] ?? '';
    for (const s of graph.get(from)?.get(to) ?? [])
      lines.push(`    src/${s.file} imports '${s.specifier}'`);
  }
  return lines.join('\n');
}

/** One allowance of the table: a whole node (`policy/`, `errors.ts`) or one file of a folder. */
interface Allowance {
  readonly node: string;
  /** Set when only this file (relative to src/) of `node` may be imported. */
  readonly file?: string;
  /** As the table writes it. */
  readonly text: string;
}

/** One row of the table: a node of src/ and what it may import, in table order. */
interface Rule {
  readonly node: string;
  readonly text: string;
  readonly allows: readonly Allowance[];
}

const MARK_START = '<!-- import-rules: read by test/unit/repo/import-cycles.test.ts -->';
const MARK_END = '<!-- /import-rules -->';

function allowanceOf(text: string): Allowance {
  if (text.endsWith('/')) return { node: text.slice(0, -1), text };
  if (!text.includes('/')) return { node: text.replace(/\.ts$/, ''), text };
  return { node: nodeOf(text), file: text, text };
}

/** The table between the import-rules markers of `markdown`: first cell the node, last cell what it may import. */
export function rulesOf(markdown: string): Rule[] {
  const start = markdown.indexOf(MARK_START);
  const end = markdown.indexOf(MARK_END, start);
  if (start < 0 || end < 0) throw new Error(`ARCHITECTURE.md has no "${MARK_START}" table`);
  const rows = markdown
    .slice(start + MARK_START.length, end)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('|'))
    .map((line) => line.slice(1, -1).split('|'))
    .filter((cells) => /^\s*`/.test(cells[0] ?? ''));
  return rows.map((cells) => {
    const text = /`([^`]+)`/.exec(cells[0] ?? '')?.[1] ?? '';
    const last = cells[cells.length - 1] ?? '';
    const allows = [...last.matchAll(/`([^`]+)`/g)].map((m) => allowanceOf(m[1] ?? ''));
    return { node: allowanceOf(text).node, text, allows };
  });
}

/** Whether `rule` lets its node import `target` (a file relative to src/). */
function allows(rule: Rule, target: string): boolean {
  const node = nodeOf(target);
  return rule.allows.some((a) => a.node === node && (a.file === undefined || a.file === target));
}

/** The nodes whose rows allow importing (any of) `node`. */
function importersAllowed(rules: readonly Rule[], node: string): string[] {
  return rules.filter((r) => r.allows.some((a) => a.node === node)).map((r) => r.node);
}

describe('cyclesOf', () => {
  const graphOf = (edges: Record<string, string[]>) =>
    new Map(Object.entries(edges).map(([from, tos]) => [from, new Map(tos.map((t) => [t, []]))]));

  it('finds every elementary cycle once, from its first node', () => {
    const graph = graphOf({ a: ['b'], b: ['c', 'a'], c: ['a', 'd'], d: ['b'] });
    expect(cyclesOf(graph)).toEqual(['a -> b -> a', 'a -> b -> c -> a', 'b -> c -> d -> b']);
  });

  it('finds none in a graph whose edges all point one way', () => {
    const graph = graphOf({
      main: ['config', 'check'],
      check: ['policy', 'errors'],
      config: ['policy'],
      policy: ['errors'],
    });
    expect(cyclesOf(graph)).toEqual([]);
  });
});

describe('rulesOf', () => {
  it('reads the rows between the markers: folders, top-level files and single files', () => {
    const markdown = [
      'before | `x/` | nothing |',
      MARK_START,
      '',
      '| src/ | holds | may import |',
      '| --- | --- | --- |',
      '| `errors.ts` | the catalogue | nothing |',
      '| `route/` | routes | `errors.ts`, `response/deny-options.ts` |',
      '',
      MARK_END,
      '| `y/` | after | `x/` |',
    ].join('\n');
    expect(rulesOf(markdown)).toEqual([
      { node: 'errors', text: 'errors.ts', allows: [] },
      {
        node: 'route',
        text: 'route/',
        allows: [
          { node: 'errors', text: 'errors.ts' },
          { node: 'response', file: 'response/deny-options.ts', text: 'response/deny-options.ts' },
        ],
      },
    ]);
  });
});

describe('the import rules of ARCHITECTURE.md', () => {
  const rules = rulesOf(readFileSync(ARCHITECTURE, 'utf8'));
  const rule = new Map(rules.map((r) => [r.node, r]));
  const nodes = [
    ...new Set(sourceFiles(SRC).map((path) => nodeOf(posix(relative(SRC, path))))),
  ].sort();
  const allowed = (node: string) => rule.get(node)?.allows.map((a) => a.text) ?? [];

  it('have one row for each folder and top-level file of src/, and no other', () => {
    expect(rules.map((r) => r.node).sort()).toEqual(nodes);
  });

  it('let each row import only rows above it (so the allowed graph has no cycle)', () => {
    const misplaced = rules.flatMap((r, i) =>
      r.allows
        .filter((a) => !rules.slice(0, i).some((above) => above.node === a.node))
        .map((a) => `${r.text} may import ${a.text}, which is not a row above it`),
    );
    expect(misplaced).toEqual([]);
  });

  it('let policy/ import only errors.ts, and the leaves nothing of ours', () => {
    expect(allowed('policy')).toEqual(['errors.ts']);
    for (const leaf of ['errors', 'settled-within', 'options', 'cache', 'wire'])
      expect({ leaf, allows: allowed(leaf) }).toEqual({ leaf, allows: [] });
  });

  it('let generation/ import from identity, policy, request, response and route only', () => {
    const outside = (rule.get('generation')?.allows ?? []).filter(
      (a) => !['identity', 'policy', 'request', 'response', 'route'].includes(a.node),
    );
    expect(outside.map((a) => a.text)).toEqual([]);
  });

  /** The rows that allow importing `node` but are not among `above`. */
  const importersBeyond = (node: string, above: readonly string[]) =>
    importersAllowed(rules, node)
      .filter((from) => !above.includes(from))
      .map((from) => `${rule.get(from)?.text ?? from} may import ${node}`);

  it('let nothing below transport/ import it: only config/ (its options file), serve/ and cli/', () => {
    expect(importersBeyond('transport', ['config', 'serve', 'cli'])).toEqual([]);
    const intoTransport = rule.get('config')?.allows.filter((a) => a.node === 'transport') ?? [];
    expect(intoTransport.filter((a) => a.file !== 'transport/options.ts')).toEqual([]);
  });

  it('let no module of the pipeline import config/: only serve/, cli/ and main.ts', () => {
    expect(importersBeyond('config', ['serve', 'cli', 'main'])).toEqual([]);
  });

  it('let only cli/ and main.ts import serve/, and nothing import cli/ or main.ts', () => {
    expect(importersBeyond('serve', ['cli', 'main'])).toEqual([]);
    expect(importersBeyond('cli', [])).toEqual([]);
    expect(importersBeyond('main', [])).toEqual([]);
  });
});

describe('the imports of src/', () => {
  const sites = importSites(SRC);
  const graph = folderGraph(sites);
  const rules = new Map(rulesOf(readFileSync(ARCHITECTURE, 'utf8')).map((r) => [r.node, r]));

  it('sees the folders and the edges the pipeline is made of', () => {
    expect([...graph.keys()]).toEqual(
      expect.arrayContaining(['main', 'check', 'config', 'policy']),
    );
    expect([...(graph.get('main')?.keys() ?? [])]).toEqual(['serve']);
    expect([...(graph.get('serve')?.keys() ?? [])]).toEqual(
      expect.arrayContaining(['config', 'check', 'transport']),
    );
    expect([...(graph.get('policy')?.keys() ?? [])]).toEqual(['errors']);
  });

  it.each([...graph.keys()].sort())('of %s import only what ARCHITECTURE.md allows it', (from) => {
    const rule = rules.get(from);
    const allowedText = rule?.allows.map((a) => a.text).join(', ') || 'nothing';
    const broken = [...(graph.get(from)?.values() ?? [])]
      .flat()
      .filter((s) => rule === undefined || !allows(rule, s.target))
      .map(
        (s) =>
          `src/${s.file} imports '${s.specifier}' (src/${s.target}): ${rule?.text ?? from} may import ${allowedText}`,
      );
    expect(broken).toEqual([]);
  });

  it('has no folder cycle', () => {
    expect(cyclesOf(graph).map((c) => explain(c, graph))).toEqual([]);
  });

  const files = fileGraphs(sites);
  it.each([...files.keys()].sort())('has no import cycle between the files of %s/', (folder) => {
    const g = files.get(folder) ?? new Map();
    expect(cyclesOf(g).map((c) => explain(c, g))).toEqual([]);
  });

  it('takes only types from outside generation/ into it', () => {
    const values = sourceFiles(join(SRC, 'generation')).flatMap((path) => {
      const text = readFileSync(path, 'utf8');
      const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest);
      return source.statements.flatMap((st) => {
        const from =
          ts.isImportDeclaration(st) || ts.isExportDeclaration(st) ? st.moduleSpecifier : undefined;
        if (from === undefined || !ts.isStringLiteral(from) || !from.text.startsWith('.'))
          return [];
        if (resolve(dirname(path), from.text).startsWith(join(SRC, 'generation'))) return [];
        const clause = ts.isImportDeclaration(st) ? st.importClause : undefined;
        const typeOnly = ts.isExportDeclaration(st)
          ? st.isTypeOnly
          : clause !== undefined &&
            (clause.isTypeOnly ||
              (clause.name === undefined &&
                clause.namedBindings !== undefined &&
                ts.isNamedImports(clause.namedBindings) &&
                clause.namedBindings.elements.every((e) => e.isTypeOnly)));
        const line = source.getLineAndCharacterOfPosition(st.getStart(source)).line + 1;
        return typeOnly ? [] : [`src/${posix(relative(SRC, path))}:${line} imports '${from.text}'`];
      });
    });
    expect(values).toEqual([]);
  });
});

describe('process.env', () => {
  /** Reads of the environment: `process.env`, `process['env']`, `{ env } = process`, `node:process`. */
  const READS =
    /\bprocess\s*(?:\?\.|\.)\s*env\b|\bprocess\s*\[\s*['"`]env['"`]\s*\]|\{[^}]*\benv\b[^}]*\}\s*=\s*(?:globalThis\.)?process\b|\bfrom\s+['"](?:node:)?process['"]/;
  const printer = ts.createPrinter({ removeComments: true });

  it('is read in src/ only under src/config/', () => {
    const reads = sourceFiles(SRC).flatMap((path) => {
      const file = posix(relative(SRC, path));
      if (file.startsWith('config/')) return [];
      const text = readFileSync(path, 'utf8');
      // Comments may name process.env; only code counts.
      const code = printer.printFile(ts.createSourceFile(path, text, ts.ScriptTarget.Latest));
      if (!READS.test(code)) return [];
      return text
        .split('\n')
        .flatMap((line, i) =>
          READS.test(line) ? [`src/${file}:${i + 1} reads the environment: ${line.trim()}`] : [],
        );
    });
    expect(reads).toEqual([]);
  });
});
