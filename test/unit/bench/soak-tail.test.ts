import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GCProfilerResult } from 'node:v8';
import { describe, expect, it } from '@jest/globals';

import { ROLEGATE_NODE_FLAGS } from '../../../bench/lib/node-flags.js';
import { oldGenerationStats, survivingSites } from '../../../bench/soak/heap-stats.js';
import type { Window } from '../../../bench/soak/stats.js';
import {
  renderTailComparison,
  TAIL_TARGET,
  tailRows,
  tailVerdict,
} from '../../../bench/soak/tail.js';

const win = (p99Ms: number, i = 0): Window => ({
  atS: (i + 1) * 5,
  requests: 1000,
  errors: 0,
  p50Ms: 1,
  p99Ms,
  rssBytes: 0,
  fds: 0,
  cpu: 0,
});

describe('the soak tail target', () => {
  it('passes a run whose p99 and every window are within the limits', () => {
    const rows = tailRows(9.9, [win(3), win(25), win(12)]);
    expect(rows).toEqual({
      p99Ms: 9.9,
      windows: 3,
      windowsOver: 0,
      maxWindowP99Ms: 25,
      pass: true,
    });
    expect(tailVerdict(rows).ok).toBe(true);
  });

  it('fails on one window above 25 ms even when the whole-run p99 is fine', () => {
    const rows = tailRows(4, [win(3), win(25.1), win(40), win(2)]);
    expect(rows.windowsOver).toBe(2);
    expect(rows.maxWindowP99Ms).toBe(40);
    expect(rows.pass).toBe(false);
    expect(tailVerdict(rows).detail).toContain('2 of 4 windows with p99 > 25 ms');
  });

  it('fails on the whole-run p99 alone, and on a run with nothing to judge', () => {
    expect(tailRows(10.1, [win(5)]).pass).toBe(false);
    expect(tailRows(NaN, []).pass).toBe(false);
  });

  it('counts a window where nothing was answered as over the limit', () => {
    const rows = tailRows(5, [win(2), win(NaN)]);
    expect(rows.windowsOver).toBe(1);
    expect(rows.maxWindowP99Ms).toBe(Infinity);
    expect(rows.pass).toBe(false);
  });

  it('prints both sides with their verdicts', () => {
    const lines = renderTailComparison([
      { label: 'rolegate', rate: 4000, rows: tailRows(3, [win(4)]) },
      { label: 'OPA-Envoy', rate: 1100, rows: tailRows(30, [win(60)]) },
    ]);
    expect(lines[0]).toMatch(/rolegate\s+OPA-Envoy$/);
    expect(lines.find((l) => l.startsWith('whole-run p99'))).toMatch(/3\.0 ms\s+30\.0 ms$/);
    expect(lines.find((l) => l.startsWith('target'))).toMatch(/PASS\s+FAIL$/);
    expect(TAIL_TARGET).toEqual({ p99Ms: 10, windowP99Ms: 25 });
  });
});

type Entry = GCProfilerResult['statistics'][number];
const spaces = (newUsed: number, oldUsed: number, lo = 0) => ({
  heapStatistics: {} as Entry['beforeGC']['heapStatistics'],
  heapSpaceStatistics: [
    {
      spaceName: 'new_space',
      spaceSize: 0,
      spaceUsedSize: newUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
    {
      spaceName: 'old_space',
      spaceSize: 0,
      spaceUsedSize: oldUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
    {
      spaceName: 'large_object_space',
      spaceSize: 0,
      spaceUsedSize: lo,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
  ],
});
const gc = (
  gcType: string,
  cost: number,
  before: [number, number],
  after: [number, number],
): Entry =>
  ({
    gcType,
    cost,
    beforeGC: spaces(...before),
    afterGC: spaces(...after),
  }) as unknown as Entry;

describe('old-generation bytes of a window', () => {
  it('counts what scavenges move into old space and what is allocated there in between', () => {
    const stats = oldGenerationStats([
      gc('Scavenge', 500, [2000, 10_000], [100, 10_300]), // promoted 300
      gc('Scavenge', 700, [2000, 10_500], [100, 10_600]), // 200 allocated old in between, promoted 100
      gc('MarkSweepCompact', 9000, [900, 11_000], [900, 4000]), // 400 in between; a major frees, promotes nothing
      gc('Scavenge', 600, [2000, 4000], [100, 4050]), // promoted 50
    ]);
    expect(stats).toEqual({
      scavenges: 3,
      majors: 1,
      promotedBytes: 450,
      directOldBytes: 600,
      scavengeMs: expect.closeTo(1.8, 9),
      majorMs: 9,
    });
  });
});

describe('allocation sites that survived a scavenge', () => {
  it('groups by allocating function, naming the caller outside node internals', () => {
    const frame = (functionName: string, url: string, lineNumber = 0) => ({
      functionName,
      url,
      lineNumber,
    });
    const profile = {
      head: {
        callFrame: frame('(root)', ''),
        selfSize: 0,
        children: [
          {
            callFrame: frame('answer', 'file:///x/dist/src/transport/grpc/server.js', 74),
            selfSize: 100,
            children: [
              {
                callFrame: frame('respond', 'node:internal/http2/core', 3065),
                selfSize: 4000,
                children: [],
              },
            ],
          },
          {
            callFrame: frame('respond', 'node:internal/http2/core', 3065),
            selfSize: 1000,
            children: [],
          },
        ],
      },
    };
    expect(survivingSites(profile, 5)).toEqual([
      {
        site: 'respond internal/http2/core:3066 <- answer dist/src/transport/grpc/server.js:75',
        bytes: 4000,
      },
      { site: 'respond internal/http2/core:3066', bytes: 1000 },
      { site: 'answer dist/src/transport/grpc/server.js:75', bytes: 100 },
    ]);
  });
});

describe('the Node flags rolegate ships', () => {
  it('are the same in the container image and in every bench and soak', () => {
    const dockerfile = readFileSync(
      join(import.meta.dirname, '..', '..', '..', 'Dockerfile'),
      'utf8',
    );
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    const argv = JSON.parse(entry ?? '[]') as string[];
    expect(argv[0]).toBe('node');
    expect(argv.slice(1, argv.indexOf('bin/rolegate.js'))).toEqual([...ROLEGATE_NODE_FLAGS]);
  });
});
