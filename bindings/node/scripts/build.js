'use strict';
// `npm install`'s build step: node-gyp rebuild against the headers of the
// node that runs this, offline.
//
// node-gyp is looked for as npm hands it to install scripts
// ($npm_config_node_gyp), then on PATH, then inside the npm next to this
// node (Node's own packages bundle it). The headers: --nodedir is the
// prefix of this node when <prefix>/include/node/node_api.h exists (Debian's
// nodejs and NodeSource's put them in /usr/include/node), so node-gyp never
// downloads a tarball of them.
//
//   node scripts/build.js [node-gyp arguments]   (default: rebuild)
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function findNodeGyp() {
  const env = process.env.npm_config_node_gyp;
  if (env && fs.existsSync(env)) return [process.execPath, env];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, 'node-gyp');
    if (dir && fs.existsSync(p)) return [p];
  }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  for (const p of [
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'share', 'nodejs', 'node-gyp', 'bin', 'node-gyp.js'),
  ]) {
    if (fs.existsSync(p)) return [process.execPath, p];
  }
  return null;
}

function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return null;
}

function main() {
  const gyp = findNodeGyp();
  if (gyp === null) {
    console.error('uvfetch: node-gyp not found (npm bundles it; or install it)');
    return 77;
  }
  const args = process.argv.slice(2);
  if (args.length === 0) args.push('rebuild');
  const dir = nodedir();
  if (dir !== null && !args.some((a) => a.startsWith('--nodedir'))) args.push('--nodedir=' + dir);
  const r = spawnSync(gyp[0], gyp.slice(1).concat(args), {
    cwd: path.resolve(__dirname, '..'),
    stdio: 'inherit',
  });
  if (r.error) {
    console.error('uvfetch: ' + r.error.message);
    return 1;
  }
  return r.status === null ? 1 : r.status;
}

if (require.main === module) process.exitCode = main();
module.exports = { findNodeGyp, nodedir };
