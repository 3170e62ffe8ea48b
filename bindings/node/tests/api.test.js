'use strict';
// fetchAll and Fetcher against tests/server.py on 127.0.0.1: sizes,
// orders, fields, options, bodies, cancellation, faults.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const H = require('./helpers');
const uvfetch = require('..');
const { fetchAll, Fetcher } = uvfetch;

let S;
before(async () => { S = await H.startServer(); });
after(async () => { await S.stop(); });

async function collect(urls, opts) {
  const out = [];
  for await (const r of fetchAll(urls, opts)) out.push(r);
  return out;
}

test('the addon uses Node\'s libuv, none of its own', () => {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  assert.ok(maps.includes('uvfetch.node'), 'the addon is mapped');
  assert.doesNotMatch(maps, /libuv\.so/);
  assert.equal(uvfetch.uvVersion(), process.versions.uv);
  assert.match(uvfetch.version(), /^\d+\.\d+\.\d+$/);
  assert.match(uvfetch.curlVersion(), /^\d+\.\d+/);
});

test('the seed\'s five sites: every size, in completion order', async () => {
  const sizes = [236862, 41273, 38115, 36389, 35102];
  const urls = sizes.map((n) => S.url(`/size/${n}?gzip=1`));
  const rs = await collect(urls, { concurrency: 10 });
  assert.deepEqual(rs.map((r) => [r.url, r.bytes]).sort(),
                   urls.map((u, i) => [u, sizes[i]]).sort());
  for (const r of rs) {
    assert.equal(r.ok, true);
    assert.equal(r.error, null);
    assert.equal(r.message, '');
    assert.equal(r.httpCode, 200);
    assert.ok(r.wireBytes > 0 && r.wireBytes < r.bytes, 'gzip on the wire');
  }
  assert.deepEqual(rs.map((r) => r.ordinal).sort(), [0, 1, 2, 3, 4]);
});

test('completion order, and input order with ordered: true', async () => {
  // The first URL answers last: 600 ms against 0.
  const urls = [600, 400, 200, 0].map((d, i) => S.url(`/size/${i + 1}?delay=${d}`));
  const done = await collect(urls, { concurrency: 4 });
  assert.deepEqual(done.map((r) => r.bytes), [4, 3, 2, 1]);
  assert.deepEqual(done.map((r) => r.ordinal), [3, 2, 1, 0]);
  const inOrder = await collect(urls, { concurrency: 4, ordered: true });
  assert.deepEqual(inOrder.map((r) => r.url), urls);
  assert.deepEqual(inOrder.map((r) => r.bytes), [1, 2, 3, 4]);
  // Many more URLs than slots, input order kept.
  const many = Array.from({ length: 300 }, (_, i) => S.url(`/size/${i % 17}?i=${i}`));
  const rs = await collect(many, { concurrency: 7, ordered: true });
  assert.deepEqual(rs.map((r) => r.url), many);
  assert.deepEqual(rs.map((r) => r.bytes), many.map((_, i) => i % 17));
});

test('a result\'s fields', async () => {
  const [r, nf] = await collect([S.url('/redirect/2'), S.url('/status/404')], { ordered: true });
  assert.equal(r.url, S.url('/redirect/2'));
  assert.equal(r.effectiveUrl, S.url('/size/10'));
  assert.equal(r.redirects, 3); // 2, 1, 0, then /size/10
  assert.equal(r.bytes, 10);
  assert.equal(r.wireBytes, 10);
  assert.equal(r.httpVersion, 11);
  assert.equal(r.attempts, 1);
  assert.equal(r.ordinal, 0);
  assert.equal(r.data, undefined);
  assert.equal('body' in r, false);
  assert.ok(r.totalTime > 0 && r.ttfb > 0 && r.ttfb <= r.totalTime);
  // A 404 received in full is a fetch: ok, with its status.
  assert.deepEqual([nf.ok, nf.error, nf.httpCode, nf.bytes], [true, null, 404, 'status 404\n'.length]);
  assert.deepEqual(Object.keys(r), ['url', 'effectiveUrl', 'ok', 'error', 'message',
    'httpCode', 'httpVersion', 'bytes', 'wireBytes', 'totalTime', 'ttfb',
    'attempts', 'ordinal', 'redirects', 'data']);
});

test('body: true gives each body as a Buffer, bounded by maxFilesize', async () => {
  const rs = await collect([S.url('/size/100000'), S.url('/size/5?gzip=1'), S.url('/size/0'), S.url('/size/3000')],
                           { body: true, maxFilesize: 50000, ordered: true });
  assert.equal(rs[0].error, 'UVFETCH_ETOOLARGE');
  assert.equal(rs[0].body, null);
  assert.ok(Buffer.isBuffer(rs[1].body));
  assert.equal(rs[1].body.toString(), H.pattern(5));
  assert.equal(rs[2].body.length, 0);
  assert.equal(rs[3].body.toString(), H.pattern(3000));
  assert.equal(rs[3].bytes, 3000);
});

test('options reach the server', async () => {
  const [r] = await collect([S.url('/headers')], {
    body: true, headers: { 'X-One': 'a', 'X-Two': ['b', 'c'] }, userAgent: 'node-test/1',
  });
  const lines = r.body.toString().split('\n').map((l) => l.trim().toLowerCase());
  assert.ok(lines.includes('x-one: a'));
  assert.ok(lines.includes('x-two: b') && lines.includes('x-two: c'));
  assert.ok(lines.includes('user-agent: node-test/1'));
  const [nr] = await collect([S.url('/redirect/1')], { followRedirects: false });
  assert.deepEqual([nr.httpCode, nr.effectiveUrl, nr.redirects], [302, S.url('/redirect/1'), 0]);
  const loop = await collect([S.url('/loop')], { maxRedirects: 3 });
  assert.equal(loop[0].error, 'UVFETCH_EREDIRECTS');
  const flaky = await collect([S.url('/flaky/node-retry?fail=2')], { retries: 3, retryDelay: 10 });
  assert.deepEqual([flaky[0].ok, flaky[0].httpCode, flaky[0].attempts], [true, 200, 3]);
  const capped = await collect(Array.from({ length: 6 }, (_, i) => S.url(`/size/1?delay=50&h=${i}`)),
                               { maxPerHost: 2 });
  assert.equal(capped.length, 6);
});

test('bad options are refused before any fetching', async () => {
  assert.throws(() => new Fetcher({ concurency: 3 }, () => {}), TypeError);
  assert.throws(() => new Fetcher({ concurrency: 0 }, () => {}), RangeError);
  assert.throws(() => new Fetcher({ timeout: 'soon' }, () => {}), TypeError);
  assert.throws(() => new Fetcher({ signal: {} }, () => {}), TypeError);
  assert.throws(() => new Fetcher({}, 'not a function'), TypeError);
  assert.throws(() => new Fetcher({ headers: { 'X-A': 'a\r\nX-B: b' } }, () => {}),
                (e) => e.code === 'UVFETCH_EINVAL');
  await assert.rejects(collect([S.url('/size/1')], { nope: 1 }), TypeError);
  await assert.rejects(collect(42), TypeError);
});

test('every input gets one result: malformed, NUL, refused scheme', async () => {
  const urls = ['not a url', 'a\0b', 'ftp://127.0.0.1/x', S.url('/size/7')];
  const rs = await collect(urls, { ordered: true });
  assert.deepEqual(rs.map((r) => [r.url, r.error]), [
    ['not a url', 'UVFETCH_EURL'], ['a\0b', 'UVFETCH_EURL'],
    ['ftp://127.0.0.1/x', 'UVFETCH_ESCHEME'], [S.url('/size/7'), null]]);
  assert.equal(rs[3].bytes, 7);
  await assert.rejects(collect([S.url('/size/1'), 5]), TypeError);
  // URL objects are taken as their href.
  const [u] = await collect([new URL(S.url('/size/3'))]);
  assert.deepEqual([u.url, u.bytes], [S.url('/size/3'), 3]);
});

test('each server fault gives exactly one result', async () => {
  const port = await H.closedPort();
  const faults = {
    'reset-before': 'UVFETCH_ENETWORK',
    'reset-mid?size=1000&sent=100': 'UVFETCH_ENETWORK',
    'short?size=1000&sent=100': 'UVFETCH_ENETWORK',
    'bad-status': 'UVFETCH_EPROTOCOL',
    'bad-chunk': 'UVFETCH_EPROTOCOL',
    hang: 'UVFETCH_ETIMEDOUT',
    'drip?size=100': 'UVFETCH_ETIMEDOUT',
    'bad-gzip?size=100': 'UVFETCH_EDECODE',
    'big-headers?kb=200': 'UVFETCH_ENOMEM',
    'many-headers?n=400': 'UVFETCH_EPROTOCOL',
  };
  const urls = Object.keys(faults).map((k) => S.url('/fault/' + k));
  urls.push(...urls); // twice each
  urls.push(`http://127.0.0.1:${port}/refused`);
  const rs = await collect(urls, { concurrency: 6, timeout: 1500 });
  assert.deepEqual(rs.map((r) => r.url).sort(), urls.slice().sort());
  for (const r of rs) {
    const kind = r.url.split('/fault/')[1];
    const want = kind === undefined ? 'UVFETCH_ECONNECT' : faults[kind];
    assert.deepEqual([r.url, r.ok, r.error], [r.url, false, want]);
    assert.ok(r.message.length > 0);
  }
  assert.equal(await H.waitIdle(S), 0);
});

test('Fetcher: add, data, cancel, stats, close', async () => {
  const got = [];
  let inside = false;
  const f = new Fetcher({ concurrency: 2 }, (r) => {
    assert.equal(inside, false, 'never called from inside add, cancel or close');
    got.push(r);
  });
  const a = f.add(S.url('/size/11'), { tag: 'a' });
  const b = f.add(S.url('/fault/hang?b'), 'b');
  const c = f.add(S.url('/size/12'), 'c', { headers: ['X-Per-Url: 1'], timeout: 5000 });
  assert.deepEqual([a, b, c], [0, 1, 2]);
  assert.throws(() => f.add('nope'), (e) => e.code === 'UVFETCH_EURL');
  assert.throws(() => f.add(3), TypeError);
  assert.equal(f.stats().added, 3);
  while (got.length < 2) await H.sleep(10);
  inside = true;
  assert.equal(f.cancel(b), true);
  assert.equal(f.cancel(a), false, 'done already');
  assert.equal(f.cancel(99), false, 'never added');
  inside = false;
  assert.equal(got.length, 2, 'the cancelled result comes on a later tick');
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 3);
  const byData = Object.fromEntries(got.map((r) => [typeof r.data === 'string' ? r.data : r.data.tag, r]));
  assert.deepEqual([byData.a.bytes, byData.c.bytes], [11, 12]);
  assert.deepEqual([byData.b.error, byData.b.ok, byData.b.attempts > 0], ['UVFETCH_ECANCELED', false, true]);
  const s = f.stats();
  assert.deepEqual([s.added, s.done, s.failed, s.running, s.queued, s.pending], [3, 3, 1, 0, 0, 0]);
  // close() cancels what is left, and resolves once every handle is gone.
  f.add(S.url('/fault/hang?x'), 'x');
  f.add(S.url('/fault/hang?y'), 'y');
  f.add(S.url('/fault/hang?z'), 'z'); // queued: two slots
  const closed = f.close();
  assert.equal(f.close(), closed, 'one promise');
  assert.equal(got.length, 3);
  await closed;
  assert.deepEqual(got.slice(3).map((r) => [r.data, r.error]).sort(),
                   [['x', 'UVFETCH_ECANCELED'], ['y', 'UVFETCH_ECANCELED'], ['z', 'UVFETCH_ECANCELED']]);
  assert.throws(() => f.add(S.url('/size/1')), (e) => e.code === 'UVFETCH_ECLOSING');
  assert.equal(await H.waitIdle(S), 0);
});

test('Fetcher: adding from inside onResult, a crawl', async () => {
  const seen = [];
  await new Promise((resolve) => {
    const f = new Fetcher({ concurrency: 3 }, (r) => {
      seen.push(r.data);
      if (r.data < 20) f.add(S.url(`/size/${r.data + 1}`), r.data + 1);
      else f.close().then(resolve);
    });
    f.add(S.url('/size/0'), 0);
  });
  assert.deepEqual(seen, Array.from({ length: 21 }, (_, i) => i));
});

test('AbortSignal cancels fetchAll: each URL pulled gets one result, then AbortError', async () => {
  const ac = new AbortController();
  let pulled = 0;
  let finished = false;
  async function* urls() {
    try {
      for (let i = 0; ; i++) {
        pulled++;
        yield i < 5 ? S.url(`/size/${i}`) : S.url(`/fault/hang?abort=${i}`);
      }
    } finally {
      finished = true;
    }
  }
  const rs = [];
  await assert.rejects(async () => {
    for await (const r of fetchAll(urls(), { concurrency: 8, signal: ac.signal })) {
      rs.push(r);
      if (rs.length === 5) setTimeout(() => ac.abort(), 100);
    }
  }, (e) => e.name === 'AbortError');
  assert.equal(finished, true, 'the source was closed');
  assert.equal(rs.length, pulled - (pulled - rs.length), 'every URL added got its result');
  assert.deepEqual(rs.slice(0, 5).map((r) => r.bytes).sort(), [0, 1, 2, 3, 4]);
  const cancelled = rs.slice(5);
  assert.ok(cancelled.length >= 8);
  assert.ok(cancelled.every((r) => r.error === 'UVFETCH_ECANCELED'));
  assert.equal(new Set(rs.map((r) => r.url)).size, rs.length);
  assert.equal(await H.waitIdle(S), 0);
  // Aborted before it starts: nothing is read.
  let read = 0;
  await assert.rejects(collect((function* () { read++; yield S.url('/size/1'); })(), { signal: AbortSignal.abort() }),
                       (e) => e.name === 'AbortError');
  assert.equal(read, 0);
});

test('AbortSignal cancels a Fetcher', async () => {
  const ac = new AbortController();
  const got = [];
  const f = new Fetcher({ signal: ac.signal }, (r) => got.push(r));
  for (let i = 0; i < 10; i++) f.add(S.url(`/fault/hang?sig=${i}`), i);
  await H.sleep(100);
  ac.abort();
  assert.equal(f.closed, true);
  await f.close();
  assert.deepEqual(got.map((r) => r.data).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(got.every((r) => r.error === 'UVFETCH_ECANCELED'));
  assert.throws(() => f.add(S.url('/size/1')), (e) => e.name === 'AbortError');
  assert.throws(() => new Fetcher({ signal: ac.signal }, () => {}), (e) => e.name === 'AbortError');
  assert.equal(await H.waitIdle(S), 0);
});

test('break closes the fetcher and the source', async () => {
  let closedSource = false;
  function* urls() {
    try {
      for (let i = 0; ; i++) yield S.url(`/size/${i % 5}?brk=${i}`);
    } finally {
      closedSource = true;
    }
  }
  let n = 0;
  for await (const r of fetchAll(urls(), { concurrency: 4 })) {
    assert.equal(r.ok, true);
    if (++n === 10) break;
  }
  assert.equal(closedSource, true);
  assert.equal(await H.waitIdle(S), 0);
});

test('a sync iterable is read only as results are taken', async () => {
  let read = 0;
  let maxAhead = 0;
  let taken = 0;
  function* urls() {
    for (let i = 0; i < 500; i++) {
      read++;
      maxAhead = Math.max(maxAhead, read - taken);
      yield S.url(`/size/${i % 3}`);
    }
  }
  for await (const r of fetchAll(urls(), { concurrency: 5 })) {
    taken++;
    assert.equal(r.ok, true);
  }
  assert.deepEqual([read, taken], [500, 500]);
  assert.ok(maxAhead <= 2 * 5 + 1, `read ahead ${maxAhead}`);
});

test('setInterval keeps ticking during a big fetch', async () => {
  let ticks = 0;
  let ticksBetween = 0;
  let first = false;
  const iv = setInterval(() => { ticks++; if (first) ticksBetween++; }, 1);
  const urls = Array.from({ length: 3000 }, (_, i) => S.url(`/size/${i % 100}?delay=${i % 3}`));
  let n = 0;
  for await (const r of fetchAll(urls, { concurrency: 20 })) {
    first = true;
    n += r.ok ? 1 : 0;
  }
  first = false;
  clearInterval(iv);
  assert.equal(n, 3000);
  assert.ok(ticksBetween > 0, `interval ran ${ticksBetween} times during the fetch`);
});

test('index.d.ts declares every export and every result field', async () => {
  const dts = fs.readFileSync(require('node:path').join(H.PKG, 'index.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
  const exported = Object.keys(uvfetch).filter((k) => k !== 'Result' && k !== 'addonPath').sort();
  assert.deepEqual(declared, exported);
  const fields = /export interface Result<[^>]*> \{([\s\S]*?)\n\}/.exec(dts)[1];
  const names = [...fields.matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1]).sort();
  const [r] = await collect([S.url('/size/1')], { body: true });
  assert.deepEqual(names, Object.keys(r).sort());
  const opts = /export interface Options \{([\s\S]*?)\n\}/.exec(dts)[1];
  const optNames = [...opts.matchAll(/^\s+(\w+)\?:/gm)].map((m) => m[1]);
  for (const o of optNames) {
    if (o === 'signal') continue;
    // every declared option is known: a wrong type is a TypeError about it,
    // never "unknown option"
    try {
      new Fetcher({ [o]: Symbol('x') }, () => {}).close();
    } catch (e) {
      assert.doesNotMatch(e.message, /unknown option/, o);
    }
  }
});
