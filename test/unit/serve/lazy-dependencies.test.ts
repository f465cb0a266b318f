import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Packages only some deployments use, loaded with `import()` when they do
 * (src/aws/sdk.ts, src/observe/tracing.ts). A static import of one anywhere
 * the CLI reaches would load it into every process again (docs/performance.md).
 */
const LOADED_ON_USE = [
  '@aws-sdk/client-iam',
  '@aws-sdk/client-sts',
  '@opentelemetry/core',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace',
];

/**
 * The modules a file loads when it is imported. With `verbatimModuleSyntax`
 * only `import type` / `export type` disappear; `import { type A }` still
 * loads its module, so it counts. `import()` expressions do not.
 */
function staticImports(source: string): string[] {
  const out: string[] = [];
  const declaration = /^\s*(?:import|export)\s+(type\s+)?(?:[\w*\s{},$]*?\bfrom\s+)?'([^']+)'/gm;
  const stripped = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of stripped.matchAll(declaration)) {
    if (m[1] !== undefined) continue;
    out.push(m[2] as string);
  }
  return out;
}

/** Every module reachable from `entry` by static imports, with the path that first reached each. */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const trail = seen.get(file) as string[];
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      let target = spec;
      if (spec.startsWith('.')) {
        target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
        if (!existsSync(target)) continue; // a JSON or asset import
      }
      if (seen.has(target)) continue;
      seen.set(target, [...trail, target]);
      if (spec.startsWith('.')) queue.push(target);
    }
  }
  return seen;
}

describe('dependencies loaded on use', () => {
  it('finds static imports and skips type-only ones', () => {
    expect(
      staticImports(
        [
          "import type { A } from 'a';",
          "import { type B } from 'b';",
          "import { C,\n  D } from 'c';",
          "export { E } from './e.js';",
          "export type { F } from 'f';",
          "import 'g';",
          "const h = await import('h');",
          "// import { I } from 'i';",
        ].join('\n'),
      ),
    ).toEqual(['b', 'c', './e.js', 'g']);
  });

  it('the CLI (every command, serve included) reaches none of them by a static import', () => {
    const graph = reachable(join(ROOT, 'src/cli/main.ts'));
    expect(graph.size).toBeGreaterThan(100); // the walk follows the real graph
    const found = LOADED_ON_USE.filter((name) => graph.has(name)).map((name) =>
      (graph.get(name) as string[]).map((f) => relative(ROOT, f)).join(' -> '),
    );
    expect(found).toEqual([]);
    // The light parts still load statically, as before.
    expect(graph.has('@opentelemetry/api')).toBe(false);
    expect(graph.has('pino')).toBe(true);
  });
});
