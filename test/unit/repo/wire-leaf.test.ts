/**
 * The message shapes both sides of a transport read live in `src/wire/`, a
 * leaf: the pipeline's folders (request -> identity -> roles -> route ->
 * policy -> decision -> response -> observe, and check/, which runs them)
 * take the ext_authz and HTTP check types from there and never import
 * `src/transport/`, which sits on top of them. Were a core module to reach
 * into the transport for a type again, the transport could no longer
 * change without the core noticing; this test fails first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

const PIPELINE = [
  'request',
  'identity',
  'roles',
  'route',
  'policy',
  'decision',
  'response',
  'check',
  'observe',
] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `file imports 'specifier'` for each import of `folder`'s files that resolves into src/. */
function importsOf(folder: string): { file: string; target: string; line: string }[] {
  return sourceFiles(join(SRC, folder)).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.flatMap(({ fileName }) => {
        if (!fileName.startsWith('.')) return [];
        const target = relative(SRC, resolve(dirname(file), fileName))
          .split(sep)
          .join('/');
        if (target.startsWith('..')) return [];
        return [{ file: relative(SRC, file), target, line: `imports '${fileName}'` }];
      }),
  );
}

describe('src/wire', () => {
  it('is read by the transports and the core alike (the scan sees the imports)', () => {
    const readers = (folder: string) => importsOf(folder).some((i) => i.target.startsWith('wire/'));
    expect(['transport', 'request', 'response', 'check'].filter((f) => !readers(f))).toEqual([]);
  });

  it('imports nothing of ours but errors', () => {
    const outside = importsOf('wire').filter(
      (i) => !i.target.startsWith('wire/') && i.target !== 'errors.js',
    );
    expect(outside.map((i) => `src/${i.file} ${i.line}`)).toEqual([]);
  });

  it.each(PIPELINE)(
    'is where %s/ takes transport shapes from: it imports no transport',
    (folder) => {
      const intoTransport = importsOf(folder).filter((i) => i.target.startsWith('transport/'));
      expect(intoTransport.map((i) => `src/${i.file} ${i.line}`)).toEqual([]);
    },
  );
});
