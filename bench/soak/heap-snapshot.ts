/**
 * Reading a V8 heap snapshot (`v8.writeHeapSnapshot`) for the soak's heap
 * evidence: live objects counted by constructor, and for one constructor
 * the shortest path from the GC roots to a few of its instances (who holds
 * them). Strong edges only: weak edges do not keep anything alive.
 */
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

/** A parsed snapshot with the strong-edge shortest-path tree from the roots. */
export class HeapSnapshot {
  private readonly nf: number;
  private readonly ef: number;
  private readonly nodeCount: number;
  private readonly firstEdge: Uint32Array;
  private readonly parent: Int32Array;
  private readonly parentEdge: Int32Array;

  constructor(private readonly raw: RawSnapshot) {
    const meta = raw.snapshot.meta;
    this.nf = meta.node_fields.length;
    this.ef = meta.edge_fields.length;
    this.nodeCount = raw.nodes.length / this.nf;
    const edgeCountAt = meta.node_fields.indexOf('edge_count');
    this.firstEdge = new Uint32Array(this.nodeCount + 1);
    for (let i = 0; i < this.nodeCount; i++)
      this.firstEdge[i + 1] =
        (this.firstEdge[i] ?? 0) + (raw.nodes[i * this.nf + edgeCountAt] ?? 0);
    this.parent = new Int32Array(this.nodeCount).fill(-1);
    this.parentEdge = new Int32Array(this.nodeCount).fill(-1);
    const weak = meta.edge_types[0].indexOf('weak');
    const queue = new Int32Array(this.nodeCount);
    let head = 0;
    let tail = 0;
    queue[tail++] = 0;
    this.parent[0] = 0;
    while (head < tail) {
      const n = queue[head++] ?? 0;
      for (let e = this.firstEdge[n] ?? 0; e < (this.firstEdge[n + 1] ?? 0); e++) {
        if (raw.edges[e * this.ef] === weak) continue;
        const to = (raw.edges[e * this.ef + 2] ?? 0) / this.nf;
        if (this.parent[to] !== -1) continue;
        this.parent[to] = n;
        this.parentEdge[to] = e;
        queue[tail++] = to;
      }
    }
  }

  static read(file: string): HeapSnapshot {
    return new HeapSnapshot(JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot);
  }

  private field(node: number, name: string): number {
    return this.raw.nodes[node * this.nf + this.raw.snapshot.meta.node_fields.indexOf(name)] ?? 0;
  }

  private nodeName(node: number): string {
    return this.raw.strings[this.field(node, 'name')] ?? '?';
  }

  private isObject(node: number): boolean {
    return this.raw.snapshot.meta.node_types[0][this.field(node, 'type')] === 'object';
  }

  /** Live (reachable) objects counted by constructor name, with their shallow bytes. */
  countByConstructor(): Map<string, { count: number; bytes: number }> {
    const out = new Map<string, { count: number; bytes: number }>();
    for (let n = 0; n < this.nodeCount; n++) {
      if (this.parent[n] === -1 || !this.isObject(n)) continue;
      const name = this.nodeName(n);
      const c = out.get(name) ?? { count: 0, bytes: 0 };
      c.count++;
      c.bytes += this.field(n, 'self_size');
      out.set(name, c);
    }
    return out;
  }

  private edgeName(e: number): string {
    const types = this.raw.snapshot.meta.edge_types[0];
    const type = types[this.raw.edges[e * this.ef] ?? 0];
    const nameOrIndex = this.raw.edges[e * this.ef + 1] ?? 0;
    return type === 'element' || type === 'hidden'
      ? `[${nameOrIndex}]`
      : (this.raw.strings[nameOrIndex] ?? '?');
  }

  /** Root-to-object paths (`Owner.edge -> Owner.edge -> Target`) of up to `limit` instances of `ctor`. */
  retainerPaths(ctor: string, limit: number): string[] {
    const paths = new Map<string, number>();
    let seen = 0;
    for (let n = 0; n < this.nodeCount && seen < limit; n++) {
      if (this.parent[n] === -1 || !this.isObject(n) || this.nodeName(n) !== ctor) continue;
      seen++;
      const steps: string[] = [];
      for (let at = n; at !== 0 && steps.length < 12; at = this.parent[at] ?? 0) {
        const p = this.parent[at] ?? 0;
        steps.unshift(
          `${this.nodeName(p).slice(0, 40)}.${this.edgeName(this.parentEdge[at] ?? 0)}`,
        );
      }
      const key = steps.join(' -> ');
      paths.set(key, (paths.get(key) ?? 0) + 1);
    }
    return [...paths].sort((a, b) => b[1] - a[1]).map(([p, c]) => `${c} x ${p}`);
  }
}
