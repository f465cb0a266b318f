/**
 * The README's environment-variable table cannot go stale: every variable
 * name the src/ tree reads (`process.env.X`, `process.env['X']`, `env['X']`,
 * or a quoted `ROLEGATE_*` / `OTEL_*` name) must be a row of that one table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const READS = [
  /process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g,
  /\benv\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]/g,
  /['"]((?:ROLEGATE|OTEL)_[A-Z0-9_]+)['"]/g,
];

/** Every environment variable name src/ reads literally, with the files that read it. */
function namesReadBySrc(): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of READS) {
      for (const match of text.matchAll(pattern)) {
        const name = match[1] ?? '';
        names.set(name, [...(names.get(name) ?? []), file.slice(ROOT.length)]);
      }
    }
  }
  return names;
}

/** The names in the first column of the README's "Environment variables" table. */
function namesInReadmeTable(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Environment variables\n');
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  return rows.flatMap((row) => {
    const first = row.split('|')[1] ?? '';
    return [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] ?? '');
  });
}

describe('README environment-variable table', () => {
  it('lists every environment variable src/ reads', () => {
    const read = namesReadBySrc();
    expect(read.has('ROLEGATE_LISTEN_HOST')).toBe(true);
    expect(read.has('ROLEGATE_LOG_LEVEL')).toBe(true);
    const documented = new Set(namesInReadmeTable());
    const missing = [...read.entries()]
      .filter(([name]) => !documented.has(name))
      .map(([name, files]) => `${name} (read in ${[...new Set(files)].join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('has each variable in one row only', () => {
    const names = namesInReadmeTable();
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
