'use strict';
// The seed's five sites by name, over HTTPS with HTTP/2, from a loopback
// nginx (tests/nginx.sh): github.test, two *.readthedocs.test hosts and
// cusy.test, whose certificate chains to a root CA given as cacert. Names
// resolve through a real DNS server only inside tests/netns.sh's namespace
// (UVFETCH_TEST_DNS=1); elsewhere the test skips, and says why.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./helpers');
const { fetchAll } = require('..');

const HAVE_DNS = process.env.UVFETCH_TEST_DNS === '1';
const why = !HAVE_DNS ? 'needs UVFETCH_TEST_DNS=1 (tests/netns.sh: root and unshare -mn)'
  : !H.haveNginx() ? 'no nginx' : false;

// Pages shaped like the seed's: HTML, gzipped by nginx on request.
const PAGES = {
  '/veit/jupyter-tutorial/index.html': 236862,
  '/en/latest/index.html': 41273,
  '/de/latest/index.html': 38115,
  '/en/index.html': 36389,
};

let N;
before(() => {
  if (why) return;
  N = H.startNginx();
  for (const [p, size] of Object.entries(PAGES)) {
    let body = `<!doctype html>\n<title>${p}</title>\n`;
    for (let i = 0; body.length < size; i++) {
      body += `<p>${p}, paragraph ${i}: the quick brown fox jumps over the lazy dog.</p>\n`;
    }
    const file = path.join(N.dir, 'www', p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body.slice(0, size));
  }
});
after(() => { if (N) N.stop(); });

test('the seed\'s five sites by name, HTTPS and HTTP/2', { skip: why }, async () => {
  const base = (host) => `https://${host}:${N.https}`;
  const sites = [
    [base('github.test') + '/veit/jupyter-tutorial/', 236862],
    [base('jupyter-tutorial.readthedocs.test') + '/en/latest/', 41273],
    [base('python-basics-tutorial.readthedocs.test') + '/de/latest/', 38115],
    [base('cusy.test') + '/en/', 36389],
    [base('cusy.test') + '/big.txt', 204800],
  ];
  const rs = [];
  for await (const r of fetchAll(sites.map((s) => s[0]), { concurrency: 10, cacert: N.ca, http2: true })) rs.push(r);
  assert.deepEqual(rs.map((r) => [r.url, r.bytes]).sort(), sites.slice().sort());
  for (const r of rs) {
    assert.deepEqual([r.ok, r.error, r.httpCode, r.httpVersion], [true, null, 200, 20], r.url);
    assert.ok(r.wireBytes < r.bytes, 'gzip on the wire: ' + r.url);
  }
  // Without the CA, every one fails verification, once.
  const bad = [];
  for await (const r of fetchAll(sites.map((s) => s[0]), { concurrency: 10 })) bad.push(r);
  assert.deepEqual(bad.map((r) => r.error), Array(5).fill('UVFETCH_ETLS'));
  // And a name that does not resolve.
  const [nx] = await (async () => {
    const out = [];
    for await (const r of fetchAll([`http://nonexistent.invalid:${N.http}/f1`])) out.push(r);
    return out;
  })();
  assert.equal(nx.error, 'UVFETCH_ERESOLVE');
});
