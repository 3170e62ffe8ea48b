#!/usr/bin/env node
'use strict';
// Benchmarks uvfetch inside Node against the HTTP clients Node users pick,
// on bench/run's workloads 1 (1 KiB files from a loopback nginx, HTTP/1.1
// keep-alive) and 5 (a server answering each request after 100 ms).
//
//   node bench.js [--rounds N] [--n URLS] [--j LIST]   the table (below)
//   node bench.js client KIND -j N -i FILE              one run, for bench/run
//   node bench.js build DIR                             build the addon in DIR
//
// KIND is one of
//   addon    for await (const r of fetchAll(urls, {concurrency: N}))
//   fetch    Node's fetch() (undici inside Node) with N async workers
//   undici   undici.request (the npm package) with the same N workers
// A client reads the URLs (one a line) from FILE as it goes, and prints
// "URL<TAB>BYTES" per URL ("-" for a failure), as uvfetch does, so that
// bench/lib/measure.py can check and time it like any other client.
//
// The table: nginx from tests/nginx.sh (server on core 0) and
// bench/delayserver.c (built here with cc), every client pinned to core 1
// through taskset, each run measured by bench/lib/measure.py (wall, CPU,
// peak RSS), clients alternating within each round; medians printed as a
// Markdown table. Also the C command ($UVFETCH, default build/uvfetch) for
// the addon's JavaScript overhead. undici is looked for in $UVFETCH_BENCH_UNDICI
// (a directory with node_modules/undici), then bindings/node/.bench, where
// it is installed from npm when missing.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const PKG = __dirname;
const TOP = path.resolve(PKG, '..', '..');

// ---- one client run ---------------------------------------------------------

// URLs from FILE, read a block at a time (a generator every client shares).
function* lines(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 16);
  let rest = '';
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const parts = (rest + buf.toString('latin1', 0, n)).split('\n');
      rest = parts.pop();
      for (const p of parts) if (p.trim() !== '') yield p.trim();
    }
    if (rest.trim() !== '') yield rest.trim();
  } finally {
    fs.closeSync(fd);
  }
}

// Records, written in blocks.
function makeOut() {
  let pending = [];
  let size = 0;
  const flush = () => {
    if (pending.length) fs.writeSync(1, pending.join(''));
    pending = [];
    size = 0;
  };
  return {
    put(url, bytes) {
      const s = url + '\t' + bytes + '\n';
      pending.push(s);
      size += s.length;
      if (size > 65536) flush();
    },
    flush,
  };
}

function findUndici() {
  const dirs = [process.env.UVFETCH_BENCH_UNDICI, path.join(PKG, '.bench')].filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, 'node_modules', 'undici');
    if (fs.existsSync(path.join(p, 'package.json'))) return p;
  }
  return null;
}

async function client(kind, j, file) {
  const out = makeOut();
  let failed = 0;
  let count = 0;
  const t0 = process.hrtime.bigint();
  if (kind === 'addon') {
    const { fetchAll } = require(PKG);
    for await (const r of fetchAll(lines(file), { concurrency: j })) {
      if (r.ok) out.put(r.url, r.bytes);
      else {
        failed++;
        out.put(r.url, '-');
      }
    }
  } else if (kind === 'fetch' || kind === 'undici') {
    let get;
    if (kind === 'fetch') {
      get = async (url) => (await (await fetch(url)).arrayBuffer()).byteLength;
    } else {
      const where = findUndici();
      if (where === null) throw new Error('undici not found (UVFETCH_BENCH_UNDICI, bindings/node/.bench)');
      const { request } = require(where);
      get = async (url) => (await (await request(url)).body.arrayBuffer()).byteLength;
    }
    const it = lines(file);
    const worker = async () => {
      for (;;) {
        const n = it.next();
        if (n.done) return;
        try {
          out.put(n.value, await get(n.value));
        } catch (e) {
          failed++;
          out.put(n.value, '-');
        }
      }
    };
    await Promise.all(Array.from({ length: j }, worker));
  } else {
    throw new Error('unknown client ' + kind);
  }
  out.flush();
  // The time spent fetching, from the first URL read to the last record,
  // without node's own start-up: what a program that fetches sees.
  if (process.env.UVFETCH_BENCH_TIMES) {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.appendFileSync(process.env.UVFETCH_BENCH_TIMES, JSON.stringify({ kind, j, file, secs }) + '\n');
  }
  return failed ? 1 : 0;
}

// ---- building the addon elsewhere ---------------------------------------

// Copy what node-gyp needs into dir and build there; print the addon's path.
function buildInto(dir) {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  for (const f of ['binding.gyp', 'package.json', 'src/addon.c', 'scripts/build.js', 'scripts/engine.js']) {
    fs.copyFileSync(path.join(PKG, f), path.join(dir, f));
  }
  const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'build.js'), 'rebuild'], {
    env: { ...process.env, UVFETCH_ROOT: TOP },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) return r.status || 1;
  console.log(path.join(dir, 'build', 'Release', 'uvfetch.node'));
  return 0;
}

// ---- the table ---------------------------------------------------------------

function arg(args, name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
}

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function writeUrls(file, base, n, pathOf) {
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(`${base}/${pathOf(i)}?n=${i}\n`);
  fs.writeFileSync(file, parts.join(''));
}

async function table(args) {
  const rounds = Number(arg(args, '--rounds', '5'));
  const n1 = Number(arg(args, '--n', '20000'));
  const js = arg(args, '--j', '50').split(',').map(Number);
  const n5 = 2000;
  const j5 = 200;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'uvfetch-node-bench-'));
  const measure = path.join(TOP, 'bench', 'lib', 'measure.py');
  const record = path.join(work, 'runs.jsonl');
  const times = path.join(work, 'times.jsonl');
  const cmdC = process.env.UVFETCH || path.join(TOP, 'build', 'uvfetch');
  const haveC = fs.existsSync(cmdC);
  const stops = [];
  let undici = findUndici();
  if (undici === null) {
    console.error('bench.js: installing undici from npm into bindings/node/.bench');
    sh('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', path.join(PKG, '.bench'), 'undici'],
       { stdio: ['ignore', 'ignore', 'inherit'] });
    undici = findUndici();
  }
  const undiciVersion = JSON.parse(fs.readFileSync(path.join(undici, 'package.json'), 'utf8')).version;
  try {
    const ngx = path.join(work, 'nginx');
    fs.mkdirSync(ngx);
    sh('taskset', ['-c', '0', 'bash', path.join(TOP, 'tests', 'nginx.sh'), 'start', ngx]);
    stops.push(() => spawnSync('bash', [path.join(TOP, 'tests', 'nginx.sh'), 'stop', ngx]));
    const hp = fs.readFileSync(path.join(ngx, 'http_port'), 'utf8').trim();
    const delay = path.join(work, 'delayserver');
    sh('sh', ['-c', `cc -O2 -o ${delay} ${path.join(TOP, 'bench', 'delayserver.c')} $(pkg-config --cflags --libs libuv)`]);
    const portFile = path.join(work, 'delay_port');
    const ds = spawn('taskset', ['-c', '0', delay, portFile, '100'], { stdio: 'ignore' });
    stops.push(() => ds.kill('SIGTERM'));
    for (let i = 0; i < 100 && !fs.existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
    const dp = fs.readFileSync(portFile, 'utf8').trim();

    const u1 = path.join(work, 'u1');
    writeUrls(u1, `http://127.0.0.1:${hp}`, n1, (i) => `f${i % 1000}`);
    const u5 = path.join(work, 'u5');
    writeUrls(u5, `http://127.0.0.1:${dp}`, n5, () => 'd');
    const self = path.resolve(__filename);
    const cmds = {
      addon: (j, f) => [process.execPath, self, 'client', 'addon', '-j', j, '-i', f],
      fetch: (j, f) => [process.execPath, self, 'client', 'fetch', '-j', j, '-i', f],
      undici: (j, f) => [process.execPath, self, 'client', 'undici', '-j', j, '-i', f],
    };
    if (haveC) cmds.command = (j, f) => [cmdC, '-j', j, '-i', f];
    const cases = [];
    for (const j of js) cases.push({ name: '1', file: u1, n: n1, j, size: 1024 });
    cases.push({ name: '5', file: u5, n: n5, j: j5, size: 6 });
    // warm nginx and the page cache
    spawnSync(process.execPath, [self, 'client', 'addon', '-j', '50', '-i', u1], { stdio: 'ignore' });
    const clients = Object.keys(cmds);
    for (let r = 0; r < rounds; r++) {
      for (const c of cases) {
        const order = clients.slice(r % clients.length).concat(clients.slice(0, r % clients.length));
        for (const k of order) {
          console.error(`round ${r + 1}/${rounds}: workload ${c.name} -j ${c.j} ${k}`);
          spawnSync('python3', [measure, '--record', record, '--set', `case=${c.name}`,
            '--set', `client=${k}`, '--set', `j=${c.j}`, '--set', `n=${c.n}`, '--set', `round=${r}`,
            '--expect', String(c.n), '--size', String(c.size), '--timeout', '300',
            '--stdout', path.join(work, 'out.txt'), '--',
            'taskset', '-c', '1', ...cmds[k](String(c.j), c.file)], {
            stdio: ['ignore', 'ignore', 'inherit'],
            env: { ...process.env, UVFETCH_BENCH_TIMES: times },
          });
          // The record's fetching time: the client's own, or (the C
          // command, which starts in a millisecond) its wall time.
          const last = fs.readFileSync(record, 'utf8').trim().split('\n').pop();
          const rec = JSON.parse(last);
          const t = fs.existsSync(times) ? fs.readFileSync(times, 'utf8').trim().split('\n').filter(Boolean) : [];
          rec.fetching = k === 'command' || t.length === 0 ? rec.wall : JSON.parse(t[t.length - 1]).secs;
          fs.rmSync(times, { force: true });
          fs.appendFileSync(path.join(work, 'runs2.jsonl'), JSON.stringify(rec) + '\n');
        }
      }
    }
    const recs = fs.readFileSync(path.join(work, 'runs2.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const names = { addon: 'uvfetch addon (fetchAll)', fetch: 'fetch() + N workers', undici: `undici ${undiciVersion} request + N workers`, command: 'uvfetch command (C)' };
    const out = [];
    out.push(`Node ${process.version} (libuv ${process.versions.uv}), ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end; medians of ${rounds} rounds.`);
    out.push('');
    out.push('| workload | client | -j | URLs | process s | fetching s | URLs/s | CPU s | peak RSS MB | failed runs |');
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    const summary = {};
    for (const c of cases) {
      for (const k of clients) {
        const rs = recs.filter((x) => String(x.case) === c.name && x.client === k && Number(x.j) === c.j);
        const okr = rs.filter((x) => x.ok);
        if (okr.length === 0) {
          out.push(`| ${c.name} | ${names[k]} | ${c.j} | ${c.n} | - | - | - | - | - | ${rs.length} |`);
          continue;
        }
        const wall = median(okr.map((x) => x.wall));
        const fetching = median(okr.map((x) => x.fetching));
        const rate = median(okr.map((x) => x.requests / x.fetching));
        const cpu = median(okr.map((x) => x.user + x.sys));
        const rss = median(okr.map((x) => x.maxrss_kib / 1024));
        summary[`${c.name}/${c.j}/${k}`] = { wall, fetching, rate, cpu, rss, rates: okr.map((x) => Math.round(x.requests / x.fetching)) };
        out.push(`| ${c.name} | ${names[k]} | ${c.j} | ${c.n} | ${wall.toFixed(2)} | ${fetching.toFixed(2)} | ${Math.round(rate).toLocaleString('en')} | ${cpu.toFixed(2)} | ${rss.toFixed(1)} | ${rs.length - okr.length} |`);
      }
    }
    out.push('');
    for (const j of js) {
      const a = summary[`1/${j}/addon`];
      const f = summary[`1/${j}/fetch`];
      const u = summary[`1/${j}/undici`];
      const c = summary[`1/${j}/command`];
      if (a && f) out.push(`Workload 1 at -j ${j}: the addon at ${(a.rate / f.rate).toFixed(1)} x fetch()'s rate, RSS ${(a.rss / f.rss).toFixed(2)} of fetch()'s` +
        (u ? `; ${(a.rate / u.rate).toFixed(1)} x undici.request's` : '') +
        (c ? `; ${((1 - a.rate / c.rate) * 100).toFixed(0)} % below the C command` : '') + '.');
    }
    const a5 = summary[`5/${j5}/addon`];
    if (a5) out.push(`Workload 5 (${n5} URLs at -j ${j5}, ideal ${Math.ceil(n5 / j5) * 0.1} s): the addon ${(a5.fetching / (Math.ceil(n5 / j5) * 0.1)).toFixed(2)} x ideal fetching (${(a5.wall / (Math.ceil(n5 / j5) * 0.1)).toFixed(2)} x with node's start-up).`);
    out.push('');
    out.push('Per-run rates: ' + JSON.stringify(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.rates]))));
    console.log(out.join('\n'));
  } finally {
    for (const s of stops.reverse()) s();
    if (!process.env.UVFETCH_BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === 'client') {
    return client(args[1], Number(arg(args, '-j', '50')), arg(args, '-i'));
  }
  if (args[0] === 'build') return buildInto(path.resolve(args[1]));
  if (args[0] === '-h' || args[0] === '--help') {
    const text = fs.readFileSync(__filename, 'utf8').split('\n');
    console.log(text.slice(2, text.findIndex((l) => l.startsWith('const fs'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    return 0;
  }
  await table(args);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(e.stack || String(e));
  process.exitCode = 1;
});
