/**
 * The folders of src/ form no import cycle.
 *
 * DESIGN.md's rule: dependencies point down the request's pipeline
 * (request -> identity -> roles -> route -> policy -> decision -> response ->
 * observe). A module reaches a later phase only through the types in
 * `decision/` or its own options type; `policy/` imports nothing of ours but
 * `errors`; `config/` composes each module's options schema, so no module
 * imports `config/` back. One folder importing another that (through any
 * chain) imports it again breaks that rule, so this test builds the graph of
 * imports between the top-level folders of src/ (src/<folder>/..., with
 * src/errors.ts and src/main.ts as nodes of their own) and fails on any
 * cycle, printing each with the imports that make it. Type-only imports count: they couple the folders just the same.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** One import of one file: where it is and what it names. */
interface ImportSite {
  readonly file: string;
  readonly specifier: string;
}

/** Folder graph: `from -> to -> the imports that make the edge`. */
type FolderGraph = Map<string, Map<string, ImportSite[]>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The node a file of src/ belongs to: its top-level folder, or its own name for a top-level file. */
function nodeOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? (parts[0] ?? '').replace(/\.[jt]s$/, '') : (parts[0] ?? '');
}

/**
 * Every relative import, re-export, dynamic `import()` and `import('…')`
 * type of every file under `src`, as edges between folders.
 */
function folderGraph(src: string): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of sourceFiles(src)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName);
      if (relative(src, target).startsWith('..')) continue;
      const from = nodeOf(file);
      const to = nodeOf(target);
      if (from === to) continue;
      const edges = graph.get(from) ?? new Map<string, ImportSite[]>();
      graph.set(from, edges);
      const sites = edges.get(to) ?? [];
      edges.set(to, sites);
      sites.push({ file: relative(src, file), specifier: fileName });
    }
  }
  return graph;
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
    const sites = graph.get(from)?.get(to) ?? [];
    for (const s of sites)
      lines.push(`    ${from} -> ${to}: src/${s.file} imports '${s.specifier}'`);
  }
  return lines.join('\n');
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

describe('the import graph of src/', () => {
  const graph = folderGraph(SRC);
  const cycles = cyclesOf(graph);

  it('sees the folders and the edges the pipeline is made of', () => {
    expect([...graph.keys()]).toEqual(
      expect.arrayContaining(['main', 'check', 'config', 'policy']),
    );
    expect([...(graph.get('main')?.keys() ?? [])]).toEqual(
      expect.arrayContaining(['config', 'errors', 'transport']),
    );
    expect([...(graph.get('policy')?.keys() ?? [])]).toEqual(['errors']);
  });

  it('has no folder cycle', () => {
    expect(cycles.map((c) => explain(c, graph))).toEqual([]);
  });
});
