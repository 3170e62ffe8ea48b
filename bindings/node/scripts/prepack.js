'use strict';
// `npm pack`'s first step: copy the engine's sources (include/uvfetch.h,
// src/*.c and src/*.h of the uvfetch tree, not the CLI) into deps/uvfetch,
// so the tarball builds on its own. deps/ is not kept in git.
const fs = require('fs');
const path = require('path');
const engine = require('./engine');

const pkg = path.resolve(__dirname, '..');
const dest = path.join(pkg, 'deps', 'uvfetch');
const src = engine.root();
if (path.resolve(src) === dest) process.exit(0);
fs.rmSync(dest, { recursive: true, force: true });
fs.mkdirSync(path.join(dest, 'include'), { recursive: true });
fs.mkdirSync(path.join(dest, 'src'), { recursive: true });
fs.copyFileSync(path.join(src, 'include', 'uvfetch.h'), path.join(dest, 'include', 'uvfetch.h'));
for (const f of fs.readdirSync(path.join(src, 'src'))) {
  if (f.endsWith('.c') || f.endsWith('.h')) {
    fs.copyFileSync(path.join(src, 'src', f), path.join(dest, 'src', f));
  }
}
for (const f of ['LICENSE', 'COPYING']) {
  if (fs.existsSync(path.join(src, f))) fs.copyFileSync(path.join(src, f), path.join(dest, f));
}
