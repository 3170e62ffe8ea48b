'use strict';
// Node citizenship, each in a child process of its own: the process exits
// by itself, an exception thrown in onResult reaches Node as usual, and the
// addon works in worker_threads (one engine per environment).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let S;
before(async () => { S = await H.startServer(); });
after(async () => { await S.stop(); });

const child = (code, opts = {}) =>
  H.runChild(code, { ...opts, env: { BASE: S.base, ...(opts.env || {}) } });

const PRELUDE = `
  const uvfetch = require(process.env.UVFETCH_PKG);
  const { fetchAll, Fetcher } = uvfetch;
  const url = (p) => process.env.BASE + p;
`;

test('the process exits by itself: after fetchAll, and with an idle Fetcher never closed', async () => {
  const r = await child(PRELUDE + `
    (async () => {
      let n = 0;
      for await (const r of fetchAll([1, 2, 3].map((i) => url('/size/' + i)))) n += r.bytes;
      const f = new Fetcher({}, (r) => console.log('idle fetcher result', r.bytes));
      f.add(url('/size/9'));
      const g = new Fetcher({}, () => {}); // never used, never closed
      console.log('sum', n);
    })();
  `, { timeout: 30000 });
  assert.equal(r.signal, null, 'exited by itself: ' + r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'sum 6\nidle fetcher result 9\n');
});

test('an exception thrown in onResult is an uncaught exception', async () => {
  const r = await child(PRELUDE + `
    const f = new Fetcher({}, (r) => { throw new Error('boom from onResult ' + r.bytes); });
    f.add(url('/size/4'));
  `, { timeout: 30000 });
  assert.equal(r.signal, null);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: boom from onResult 4/);
  assert.doesNotMatch(r.stderr, /Assertion|abort|core dumped/i);
});

test('with an uncaughtException handler, every result still comes and nothing is left', async () => {
  const r = await child(PRELUDE + `
    let thrown = 0, seen = 0;
    process.on('uncaughtException', (e) => { if (/boom/.test(e.message)) thrown++; else throw e; });
    const f = new Fetcher({ concurrency: 3 }, (r) => { seen++; if (r.ordinal % 2 === 0) throw new Error('boom ' + r.ordinal); });
    for (let i = 0; i < 40; i++) f.add(url('/size/' + i));
    // cancellations delivered after close() throw too
    f.add(url('/fault/hang?exc'));
    const t = setInterval(async () => {
      if (f.pending === 1) {
        clearInterval(t);
        await f.close();
        const s = f.stats();
        console.log(JSON.stringify({ thrown, seen, pending: f.pending, handles: process._getActiveHandles().length }));
      }
    }, 5);
  `, { timeout: 30000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { thrown: 21, seen: 41, pending: 0, handles: 0 });
  assert.equal(await H.waitIdle(S), 0);
});

test('an exception thrown inside for await closes the fetcher', async () => {
  const r = await child(PRELUDE + `
    (async () => {
      try {
        for await (const r of fetchAll([url('/size/1'), url('/fault/hang?a'), url('/fault/hang?b')])) {
          throw new Error('stop at ' + r.bytes);
        }
      } catch (e) {
        console.log(e.message);
      }
    })();
  `, { timeout: 30000 });
  assert.equal(r.signal, null, 'exited by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'stop at 1\n');
  assert.equal(await H.waitIdle(S), 0);
});

test('worker_threads: an engine per worker, beside the main thread\'s', async () => {
  const r = await child(PRELUDE + `
    const { Worker } = require('node:worker_threads');
    const work = (k) => new Promise((resolve, reject) => {
      const w = new Worker(\`
        const { parentPort, workerData } = require('node:worker_threads');
        const { fetchAll } = require(process.env.UVFETCH_PKG);
        (async () => {
          let sum = 0, n = 0;
          const urls = Array.from({ length: 300 }, (_, i) => process.env.BASE + '/size/' + (i % 10) + '?w=' + workerData);
          for await (const r of fetchAll(urls, { concurrency: 10 })) { sum += r.bytes; n++; }
          parentPort.postMessage({ n, sum });
        })();
      \`, { eval: true, workerData: k });
      w.on('message', resolve);
      w.on('error', reject);
    });
    (async () => {
      const main = (async () => {
        let n = 0;
        for await (const r of fetchAll(Array.from({ length: 300 }, (_, i) => url('/size/3?m=' + i)))) n += r.bytes;
        return n;
      })();
      const res = await Promise.all([work(1), work(2), work(3), main]);
      console.log(JSON.stringify(res));
    })();
  `, { timeout: 60000 });
  assert.equal(r.code, 0, r.stderr);
  const per = { n: 300, sum: 30 * 45 };
  assert.deepEqual(JSON.parse(r.stdout), [per, per, per, 900]);
});

test('a worker that ends or is terminated with transfers running closes cleanly', async () => {
  const r = await child(PRELUDE + `
    const { Worker } = require('node:worker_threads');
    const start = (code) => new Worker(code, { eval: true });
    // ends by itself, leaving an idle fetcher and a busy one unclosed
    const a = start(\`
      const { Fetcher } = require(process.env.UVFETCH_PKG);
      const { parentPort } = require('node:worker_threads');
      const idle = new Fetcher({}, () => {});
      const busy = new Fetcher({}, (r) => { parentPort.postMessage(r.bytes); process.exit(0); });
      busy.add(process.env.BASE + '/size/5');
      for (let i = 0; i < 5; i++) busy.add(process.env.BASE + '/fault/hang?exit=' + i);
    \`);
    // terminated from outside mid-fetch
    const b = start(\`
      const { Fetcher } = require(process.env.UVFETCH_PKG);
      const { parentPort } = require('node:worker_threads');
      const f = new Fetcher({}, () => {});
      for (let i = 0; i < 20; i++) f.add(process.env.BASE + '/fault/hang?term=' + i);
      parentPort.postMessage('busy');
    \`);
    let got = [];
    a.on('message', (m) => got.push(m));
    b.on('message', () => setTimeout(() => b.terminate(), 100));
    let exits = [];
    a.on('exit', (c) => exits.push(['a', c]));
    b.on('exit', (c) => { exits.push(['b', c]); });
    process.on('exit', () => console.log(JSON.stringify({ got, exits: exits.sort() })));
  `, { timeout: 60000 });
  assert.equal(r.signal, null, 'exited by itself: ' + r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { got: [5], exits: [['a', 0], ['b', 1]] });
  assert.equal(await H.waitIdle(S), 0);
});

test('a collected idle Fetcher releases its engine', async () => {
  const r = await child(PRELUDE + `
    (async () => {
      for (let round = 0; round < 200; round++) {
        await new Promise((resolve) => {
          const f = new Fetcher({}, () => resolve());
          f.add(url('/size/1'));
        });
      }
      global.gc();
      await new Promise((r) => setTimeout(r, 50));
      global.gc();
      console.log('done');
    })();
  `, { timeout: 60000, args: ['--expose-gc'] });
  assert.equal(r.signal, null);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'done\n');
});
