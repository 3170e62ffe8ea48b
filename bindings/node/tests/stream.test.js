'use strict';
// 100,000 URLs from an async generator (UVFETCH_NODE_STREAM_URLS for more):
// read only as results are taken, every one answered once, and memory flat
// after the first 10,000.
//
// It runs in a child node with a fixed young generation
// (--max-semi-space-size=1): by default V8 grows its new space with the
// allocation rate, step by step up to 48 MiB, which is RSS that no leak
// made and that would hide one.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const N = Number(process.env.UVFETCH_NODE_STREAM_URLS || 100000);
let S;
before(async () => { S = await H.startServer(); });
after(async () => { await S.stop(); });

const CHILD = `
const { fetchAll } = require(process.env.UVFETCH_PKG);
const N = Number(process.env.N), base = process.env.BASE, concurrency = 50;
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
(async () => {
  let read = 0, taken = 0, maxAhead = 0, bytes = 0, failed = 0;
  let rss10k = 0, heap10k = 0, peak = 0, heapPeak = 0;
  async function* urls() {
    for (let i = 0; i < N; i++) {
      read++;
      maxAhead = Math.max(maxAhead, read - taken);
      yield base + '/size/' + (i % 64) + '?i=' + i;
    }
  }
  const ordinals = new Uint8Array(N);
  for await (const r of fetchAll(urls(), { concurrency })) {
    taken++;
    bytes += r.bytes;
    if (!r.ok) failed++;
    ordinals[r.ordinal]++;
    if (taken % 5000 === 0) {
      global.gc();
      if (taken === 10000) { rss10k = rss(); heap10k = process.memoryUsage().heapUsed; }
      if (taken > 10000) { peak = Math.max(peak, rss()); heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed); }
    }
  }
  global.gc();
  peak = Math.max(peak, rss());
  console.log(JSON.stringify({ taken, read, failed, bytes, maxAhead,
    once: ordinals.every((c) => c === 1), rss10k, peak,
    heapGrown: Math.max(0, heapPeak - heap10k) >> 10 }));
})();
`;

test(`${N} URLs from an async generator, with flat RSS`, async () => {
  const r = await H.runChild(CHILD, {
    env: { BASE: S.base, N: String(N) },
    args: ['--expose-gc', '--max-semi-space-size=1'],
    timeout: 30 * 60 * 1000,
  });
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  let want = 0;
  for (let i = 0; i < N; i++) want += i % 64;
  assert.deepEqual([m.taken, m.read, m.failed, m.bytes, m.once], [N, N, 0, want, true]);
  assert.ok(m.maxAhead <= 2 * 50 + 1, `read ahead ${m.maxAhead}`);
  const grown = m.peak - m.rss10k;
  console.log(`# RSS at 10,000: ${m.rss10k} KiB; peak after: ${m.peak} KiB; ` +
              `grown ${grown} KiB; JS heap grown ${m.heapGrown} KiB`);
  assert.ok(grown < 4096, `RSS grew ${grown} KiB after the first 10,000`);
  assert.ok(m.heapGrown < 1024, `JS heap grew ${m.heapGrown} KiB after the first 10,000`);
  assert.equal(await H.waitIdle(S), 0);
});
