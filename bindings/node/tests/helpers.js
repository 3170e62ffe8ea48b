'use strict';
// What the tests share: the loopback server (tests/server.py of the source
// tree, or $UVFETCH_TEST_SERVER), its counters, RSS, and child processes.
// Every server is started here, on 127.0.0.1, and talks to nobody else.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const PKG = path.resolve(__dirname, '..');
const TOP = path.resolve(PKG, '..', '..');
const SERVER = process.env.UVFETCH_TEST_SERVER || path.join(TOP, 'tests', 'server.py');
const NGINX_SH = process.env.UVFETCH_NGINX_SH || path.join(TOP, 'tests', 'nginx.sh');
const PATTERN = 'abcdefghijklmnopqrstuvwxyz0123456789\n';

// Start tests/server.py; resolves to {base, port, stop()}. Its stdin is a
// pipe: it exits when we do, even if we crash.
function startServer() {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', [SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.on('error', reject);
    p.stdout.on('data', function onData(d) {
      out += d;
      if (!out.includes('\n')) return;
      p.stdout.off('data', onData);
      const port = Number(out.trim());
      if (!Number.isInteger(port)) {
        reject(new Error('server.py did not print its port: ' + out));
        return;
      }
      p.stdout.resume();
      resolve({
        port,
        base: `http://127.0.0.1:${port}`,
        url: (p2) => `http://127.0.0.1:${port}${p2}`,
        stop: () => new Promise((res) => {
          p.once('exit', res);
          p.stdin.end();
          p.kill('SIGTERM');
        }),
      });
    });
  });
}

function getJSON(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The server's count of requests in progress, once it is 0 (or 10 s
// passed): a closed fetcher leaves no connection behind.
async function waitIdle(server) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const s = await getJSON(server.url('/stats'));
    if (s.active === 0 || Date.now() > deadline) return s.active;
    await sleep(50);
  }
}

function rssKiB() {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

function pattern(n) {
  return PATTERN.repeat(Math.ceil(n / PATTERN.length) + 1).slice(0, n);
}

// A port nothing listens on: connections to it are refused.
function closedPort() {
  return new Promise((resolve) => {
    const s = require('node:net').createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Run `code` in a child node with the addon the tests use; resolves to
// {code, signal, stdout, stderr}. A child that does not exit within
// `timeout` ms is killed (signal SIGKILL): it did not exit by itself.
function runChild(code, { env = {}, timeout = 60000, args = [], cwd } = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...args, '-e', code], {
      env: { ...process.env, UVFETCH_PKG: PKG, ...env },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve({ code: c, signal: sig, stdout, stderr });
    });
  });
}

function haveNginx() {
  return fs.existsSync(process.env.NGINX || '/usr/sbin/nginx');
}

// tests/nginx.sh's nginx in a new directory: {dir, http, https, ca, stop()}.
function startNginx() {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'uvfetch-node-nginx-'));
  const r = spawnSync('bash', [NGINX_SH, 'start', dir], { encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error('nginx.sh start failed: ' + r.stderr);
  }
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
  return {
    dir,
    http: Number(read('http_port')),
    https: Number(read('https_port')),
    ca: path.join(dir, 'ca.pem'),
    stop() {
      spawnSync('bash', [NGINX_SH, 'stop', dir], { timeout: 60000 });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = {
  PKG, TOP, PATTERN, startServer, getJSON, waitIdle, rssKiB, pattern,
  closedPort, runChild, sleep, haveNginx, startNginx,
};
