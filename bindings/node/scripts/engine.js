'use strict';
// Where the engine's C sources are, for binding.gyp:
//   node scripts/engine.js root      the directory holding src/ and include/
//   node scripts/engine.js sources   the engine's .c files (not the CLI's)
// In order: $UVFETCH_ROOT; deps/uvfetch (what `npm pack` puts in the
// tarball, see scripts/prepack.js); the source tree two levels up.
// Paths are printed relative to the package when they can be, as gyp wants.
const fs = require('fs');
const path = require('path');

const pkg = path.resolve(__dirname, '..');

function root() {
  const candidates = [];
  if (process.env.UVFETCH_ROOT) candidates.push(path.resolve(process.env.UVFETCH_ROOT));
  candidates.push(path.join(pkg, 'deps', 'uvfetch'), path.resolve(pkg, '..', '..'));
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'include', 'uvfetch.h')) &&
        fs.existsSync(path.join(dir, 'src', 'fetch.c'))) return dir;
  }
  throw new Error('uvfetch: the engine sources (include/uvfetch.h, src/*.c) ' +
                  'were found in none of ' + candidates.join(', '));
}

// gyp takes sources relative to binding.gyp, and names their objects after
// that path (absolute ones get no make rule on a second build).
function rel(p) {
  return path.relative(pkg, p) || '.';
}

function sources(dir) {
  return fs.readdirSync(path.join(dir, 'src'))
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => rel(path.join(dir, 'src', f)));
}

if (require.main === module) {
  const dir = root();
  const what = process.argv[2];
  if (what === 'root') console.log(rel(dir));
  else if (what === 'sources') console.log(sources(dir).join('\n'));
  else {
    console.error('usage: node scripts/engine.js root|sources');
    process.exit(2);
  }
}

module.exports = { root, sources };
