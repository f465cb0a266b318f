// Every Envoy config the project ships resolves dot segments, merges slashes
// and refuses escaped slashes on each HttpConnectionManager, so Envoy routes
// and the upstream receives the path rolegate decided on
// (docs/request-canonicalisation.md). Shipped = every .yaml/.yml/.json file
// under the repository outside test/, node_modules/ and .tools/, plus Envoy
// configs held in a ConfigMap's data; a file that mentions an
// HttpConnectionManager but parses to none fails too.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';

const root = resolve(import.meta.dirname, '..', '..', '..');
const SKIP = new Set(['node_modules', '.tools', '.git', 'test', 'dist', 'coverage']);
const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return /\.(ya?ml|json)$/.test(e.name) ? [path] : [];
  });
}

/** Every HttpConnectionManager typed_config in a parsed value (recursing into ConfigMap data texts). */
function managers(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const v of value) managers(v, out);
  else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o['@type'] === HCM) out.push(o);
    for (const v of Object.values(o)) managers(v, out);
  } else if (typeof value === 'string' && value.includes('\n') && value.includes(HCM)) {
    for (const doc of parseAllDocuments(value)) managers(doc.toJS(), out);
  }
  return out;
}

// envoy.template.yaml has ${...} placeholders only in scalar positions: still YAML.
const shipped = files(root)
  .filter((f) => readFileSync(f, 'utf8').includes('HttpConnectionManager'))
  .map((f) => relative(root, f));

describe('shipped Envoy configs', () => {
  it('include the quickstart config, its template and the Kubernetes sidecar', () => {
    expect(shipped).toEqual(
      expect.arrayContaining([
        'envoy/envoy.yaml',
        'envoy/envoy.template.yaml',
        'examples/kubernetes/sidecar/envoy.yaml',
      ]),
    );
  });

  it.each(shipped)('%s canonicalises paths on every HttpConnectionManager', (file) => {
    const docs = parseAllDocuments(readFileSync(join(root, file), 'utf8')).map(
      (d) => d.toJS() as unknown,
    );
    const found = managers(docs);
    expect(found.length).toBeGreaterThan(0);
    for (const hcm of found)
      expect({
        stat_prefix: hcm['stat_prefix'],
        normalize_path: hcm['normalize_path'],
        merge_slashes: hcm['merge_slashes'],
        path_with_escaped_slashes_action: hcm['path_with_escaped_slashes_action'],
      }).toEqual({
        stat_prefix: hcm['stat_prefix'],
        normalize_path: true,
        merge_slashes: true,
        path_with_escaped_slashes_action: 'REJECT_REQUEST',
      });
  });
});
