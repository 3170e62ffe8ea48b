'use strict';
// `npm pack`, then `npm install` of the tarball in a fresh project,
// offline: the tarball carries the engine's sources and builds on its own
// against this node's headers. Skips without npm.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const H = require('./helpers');

const haveNpm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;
let S;
let tmp;
before(async () => {
  S = await H.startServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvfetch-node-pack-'));
});
after(async () => {
  await S.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function npm(args, cwd) {
  const r = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    // a registry nobody answers at: nothing may be fetched
    env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true',
      npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
      npm_config_cache: path.join(tmp, 'npm-cache'),
      // not the user's ~/.npmrc either: its nodedir, say, must not be needed
      npm_config_userconfig: path.join(tmp, 'npmrc') },
    timeout: 600000,
  });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('npm pack gives a tarball that installs and runs in a fresh project, offline', { skip: !haveNpm && 'no npm' }, async () => {
  // Pack a copy, so that the prepack step's deps/ stays out of the tree.
  const src = path.join(tmp, 'src');
  fs.mkdirSync(path.join(src, 'scripts'), { recursive: true });
  fs.mkdirSync(path.join(src, 'src'), { recursive: true });
  for (const f of ['package.json', 'binding.gyp', 'index.js', 'index.d.ts', 'README.md',
    'src/addon.c', 'scripts/build.js', 'scripts/engine.js', 'scripts/prepack.js']) {
    if (fs.existsSync(path.join(H.PKG, f))) fs.copyFileSync(path.join(H.PKG, f), path.join(src, f));
  }
  const out = path.join(tmp, 'out');
  fs.mkdirSync(out);
  process.env.UVFETCH_ROOT = H.TOP;
  let listing;
  try {
    listing = JSON.parse(npm(['pack', '--json', '--pack-destination', out], src));
  } finally {
    delete process.env.UVFETCH_ROOT;
  }
  const files = listing[0].files.map((f) => f.path).sort();
  assert.ok(files.includes('deps/uvfetch/include/uvfetch.h'));
  assert.ok(files.includes('deps/uvfetch/src/fetch.c'));
  assert.ok(files.includes('index.d.ts') && files.includes('binding.gyp'));
  assert.ok(!files.some((f) => f.startsWith('build/') || f.includes('/cli/') || f.startsWith('tests/')), files.join(' '));
  const tgz = path.join(out, listing[0].filename);

  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--offline', tgz], app);
  const addon = path.join(app, 'node_modules', 'uvfetch', 'build', 'Release', 'uvfetch.node');
  assert.ok(fs.existsSync(addon));
  const r = await H.runChild(`
    const { fetchAll } = require('uvfetch');
    (async () => {
      const got = [];
      for await (const r of fetchAll([process.env.BASE + '/size/123', process.env.BASE + '/size/45'], { ordered: true })) got.push(r.bytes);
      console.log(JSON.stringify(got));
    })();
  `, { env: { BASE: S.base, UVFETCH_ADDON: '' }, timeout: 60000, cwd: app });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '[123,45]');
});
