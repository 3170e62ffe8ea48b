'use strict';
// uvfetch for Node.js: the engine runs on Node's own libuv loop, in the
// addon build/Release/uvfetch.node (see README.md). This file turns options
// into the library's, results into plain objects, and input of any
// (async) iterable into a stream pulled as slots free up.

const path = require('path');

function loadAddon() {
  const tried = [];
  const candidates = [];
  if (process.env.UVFETCH_ADDON) candidates.push(path.resolve(process.env.UVFETCH_ADDON));
  candidates.push(path.join(__dirname, 'build', 'Release', 'uvfetch.node'),
                  path.join(__dirname, 'build', 'Debug', 'uvfetch.node'));
  for (const p of candidates) {
    try {
      return require(p);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND' || process.env.UVFETCH_ADDON) throw e;
      tried.push(p);
    }
  }
  const err = new Error('uvfetch: the addon is not built; run `npm install` ' +
                        'in ' + __dirname + ' (tried ' + tried.join(', ') + ')');
  err.code = 'MODULE_NOT_FOUND';
  throw err;
}

const native = loadAddon();

// ---- errors ---------------------------------------------------------------

const names = new Map();
function errName(code) {
  if (code === 0) return null;
  let name = names.get(code);
  if (name === undefined) {
    name = native.errName(code);
    names.set(code, name);
  }
  return name;
}

function abortError(signal) {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('This operation was aborted');
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

// ---- options --------------------------------------------------------------

function wholeNumber(name, v, min) {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`uvfetch: option ${name} must be an integer, not ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < min || v > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`uvfetch: option ${name} must be at least ${min}, not ${v}`);
  }
  return v;
}

function millis(name, v) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`uvfetch: option ${name} must be milliseconds (a number >= 0)`);
  }
  return Math.ceil(v);
}

function bool(name, v) {
  if (typeof v !== 'boolean') throw new TypeError(`uvfetch: option ${name} must be a boolean`);
  return v ? 1 : 0;
}

function str(name, v) {
  if (typeof v !== 'string') throw new TypeError(`uvfetch: option ${name} must be a string`);
  return v;
}

// {Name: value} or ["Name: value"] -> ["Name: value"]
function headerList(name, v) {
  if (Array.isArray(v)) return v.map((h) => str(name, h));
  if (v !== null && typeof v === 'object') {
    const out = [];
    for (const [k, val] of Object.entries(v)) {
      if (Array.isArray(val)) for (const one of val) out.push(`${k}: ${one}`);
      else out.push(`${k}: ${val}`);
    }
    return out;
  }
  throw new TypeError(`uvfetch: option ${name} must be an object or an array of "Name: value" strings`);
}

// The options, by their JavaScript name: the C field each one fills and how
// its value is turned into that field's.
const OPTIONS = {
  concurrency: ['max_concurrent', (n, v) => wholeNumber(n, v, 1)],
  ordered: ['ordered', bool],
  orderWindow: ['order_window', (n, v) => wholeNumber(n, v, 0)],
  maxPerHost: ['max_per_host', (n, v) => wholeNumber(n, v, 0)],
  timeout: ['timeout_ms', millis],
  connectTimeout: ['connect_timeout_ms', millis],
  idleTimeout: ['idle_timeout_ms', millis],
  retries: ['retries', (n, v) => wholeNumber(n, v, 0)],
  retryDelay: ['retry_delay_ms', millis],
  headers: ['headers', headerList],
  followRedirects: ['follow_redirects', bool],
  maxRedirects: ['max_redirects', (n, v) => wholeNumber(n, v, 0)],
  compressed: ['compressed', bool],
  http2: ['http_version', (n, v) => (bool(n, v) ? 20 : 11)],
  cacert: ['cacert', str],
  insecure: ['verify_tls', (n, v) => (bool(n, v) ? 0 : 1)],
  proxy: ['proxy', str],
  maxFilesize: ['max_filesize', (n, v) => wholeNumber(n, v, 0)],
  userAgent: ['user_agent', str],
  protocols: ['protocols', (n, v) => (Array.isArray(v) ? v.map((p) => str(n, p)).join(',') : str(n, v))],
  resolve: ['resolve', (n, v) => (Array.isArray(v) ? v.map((r) => str(n, r)) : [str(n, v)])],
  rate: ['rate', (n, v) => {
    if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`uvfetch: option ${n} must be a number >= 0`);
    return v;
  }],
  locationTrusted: ['location_trusted', bool],
  adaptive: ['adaptive', bool],
  body: ['keep_body', (n, v) => bool(n, v) === 1],
};

// The library's options from the JavaScript ones; `signal` is the caller's.
function nativeOptions(options, extra) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw new TypeError('uvfetch: options must be an object');
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || key === 'signal' || (extra && extra.includes(key))) continue;
    const opt = OPTIONS[key];
    if (opt === undefined) throw new TypeError(`uvfetch: unknown option ${key}`);
    out[opt[0]] = opt[1](key, value);
  }
  const signal = options.signal;
  if (signal !== undefined && signal !== null &&
      (typeof signal !== 'object' || typeof signal.aborted !== 'boolean' ||
       typeof signal.addEventListener !== 'function')) {
    throw new TypeError('uvfetch: option signal must be an AbortSignal');
  }
  return out;
}

// ---- results --------------------------------------------------------------


class Result {
  constructor(url, effectiveUrl, ok, error, message, httpCode, httpVersion,
              bytes, wireBytes, totalTime, ttfb, attempts, ordinal, redirects,
              data, body) {
    this.url = url;
    this.effectiveUrl = effectiveUrl;
    this.ok = ok;
    this.error = error;
    this.message = message;
    this.httpCode = httpCode;
    this.httpVersion = httpVersion;
    this.bytes = bytes;
    this.wireBytes = wireBytes;
    this.totalTime = totalTime;
    this.ttfb = ttfb;
    this.attempts = attempts;
    this.ordinal = ordinal;
    this.redirects = redirects;
    this.data = data;
    if (body !== undefined) this.body = body;
  }
}

// ---- Fetcher --------------------------------------------------------------

// Calls to the engine from JavaScript (add, cancel, close) may finish URLs
// at once (a cancellation); their results are handed on in a later tick,
// never from inside the call.
let sync = 0;

class Fetcher {
  #engine;
  #onResult;
  #data = new Map();
  #signal = null;
  #onAbort = null;
  #closed = null;
  #deferred = [];
  #aborted = null;

  /**
   * new Fetcher(options, onResult): the engine on this thread's loop.
   * onResult(result) runs once for every URL added.
   */
  constructor(options, onResult) {
    if (typeof options === 'function' && onResult === undefined) {
      onResult = options;
      options = {};
    }
    if (typeof onResult !== 'function') throw new TypeError('uvfetch: new Fetcher(options, onResult): onResult must be a function');
    const opts = nativeOptions(options);
    this.#onResult = onResult;
    const signal = options ? options.signal : undefined;
    if (signal && signal.aborted) throw abortError(signal);
    this.#engine = new native.Engine(opts, this.#sink.bind(this));
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.#aborted = abortError(signal);
        this.close().catch(() => {});
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #sink(url, effectiveUrl, ok, error, message, httpCode, httpVersion, bytes,
        wireBytes, totalTime, ttfb, attempts, ordinal, redirects, body) {
    let data;
    if (this.#data.size !== 0) {
      data = this.#data.get(ordinal);
      if (data !== undefined) this.#data.delete(ordinal);
    }
    if (data !== undefined && data.nul) { // a URL with a NUL, as given
      url = effectiveUrl = data.url;
      data = data.data;
    }
    const r = new Result(url, effectiveUrl, ok, errName(error), message,
                         httpCode, httpVersion, bytes, wireBytes, totalTime,
                         ttfb, attempts, ordinal, redirects, data, body);
    if (sync !== 0) {
      if (this.#deferred.push(r) === 1) process.nextTick(() => this.#flush());
      return;
    }
    this.#onResult(r);
  }

  // Deferred results, one tick each: one that throws leaves the others to
  // come, as separate uncaught exceptions would.
  #flush() {
    const list = this.#deferred;
    this.#deferred = [];
    for (let i = 0; i < list.length; i++) {
      if (i + 1 < list.length) {
        const rest = list.slice(i + 1);
        try {
          this.#onResult(list[i]);
        } catch (e) {
          this.#deferred = rest.concat(this.#deferred);
          process.nextTick(() => this.#flush());
          throw e;
        }
      } else {
        this.#onResult(list[i]);
      }
    }
  }

  #checkSignal() {
    if (this.#aborted !== null) throw this.#aborted;
  }

  /**
   * add(url, data?, {headers, timeout}?) -> id. Queues url; its result
   * carries data. Throws (error.code the library's name) for a URL the
   * library refuses; then no result comes for it.
   */
  add(url, data, options) {
    this.#checkSignal();
    if (typeof url !== 'string') {
      if (url instanceof URL) url = url.href;
      else throw new TypeError('uvfetch: add(url): url must be a string or a URL');
    }
    let headers = null;
    let timeout = 0;
    if (options !== undefined && options !== null) {
      for (const k of Object.keys(options)) {
        if (k === 'headers') headers = headerList(k, options.headers);
        else if (k === 'timeout') timeout = millis(k, options.timeout);
        else if (options[k] !== undefined) throw new TypeError(`uvfetch: add(): unknown option ${k}`);
      }
    }
    const id = this.#addRaw(url, 0, headers, timeout);
    if (data !== undefined) this.#data.set(id, data);
    return id;
  }

  // For fetchAll: every input gets its result, a malformed URL too.
  _addReported(url) {
    const id = this.#addRaw(url, native.ADD_REPORT_INVALID, null, 0);
    if (url.includes('\0')) this.#data.set(id, { nul: true, url, data: undefined });
    return id;
  }

  #addRaw(url, flags, headers, timeout) {
    sync++;
    try {
      return this.#engine.add(url, flags, headers, timeout);
    } finally {
      sync--;
    }
  }

  /** cancel(id) -> true when the URL was pending; its result says UVFETCH_ECANCELED. */
  cancel(id) {
    if (this.#closed !== null) return false;
    sync++;
    try {
      return this.#engine.cancel(id);
    } finally {
      sync--;
    }
  }

  /**
   * close() -> Promise: every pending URL ends (UVFETCH_ECANCELED), and the
   * promise resolves once the engine has let go of every handle.
   */
  close() {
    if (this.#closed !== null) return this.#closed;
    if (this.#signal !== null) {
      this.#signal.removeEventListener('abort', this.#onAbort);
      this.#signal = null;
    }
    this.#closed = new Promise((resolve) => {
      sync++;
      try {
        this.#engine.close(resolve);
      } finally {
        sync--;
      }
    });
    return this.#closed;
  }

  /** The library's counts: added, queued, waiting, running, held, done, failed, ... */
  stats() {
    return this.#engine.stats();
  }

  /** URLs added whose result has not come yet. */
  get pending() {
    return this.#engine.pending() + this.#deferred.length;
  }

  get closed() {
    return this.#closed !== null;
  }
}

// ---- fetchAll -------------------------------------------------------------

function inputIterator(urls) {
  if (urls === null || urls === undefined) throw new TypeError('uvfetch: fetchAll(urls): urls must be iterable');
  if (typeof urls[Symbol.asyncIterator] === 'function') return [urls[Symbol.asyncIterator](), true];
  if (typeof urls[Symbol.iterator] === 'function' && typeof urls !== 'string') return [urls[Symbol.iterator](), false];
  throw new TypeError('uvfetch: fetchAll(urls): urls must be an iterable or an async iterable of URLs');
}

function urlString(u) {
  if (typeof u === 'string') return u;
  if (u instanceof URL) return u.href;
  throw new TypeError(`uvfetch: fetchAll: a URL must be a string or a URL, not ${u === null ? 'null' : typeof u}`);
}

/**
 * for await (const r of fetchAll(urls, options)) ...
 * urls: any iterable or async iterable, read only as results are taken.
 * Results in completion order, or input order with {ordered: true}.
 */
async function* fetchAll(urls, options = {}) {
  const opts = options === null || options === undefined ? {} : options;
  nativeOptions(opts); // every option checked before anything is read
  const signal = opts.signal || null;
  if (signal !== null && signal.aborted) throw abortError(signal);
  const [source, isAsync] = inputIterator(urls);
  const concurrency = opts.concurrency === undefined ? 50 : opts.concurrency;
  let limit = 2 * concurrency;
  if (opts.ordered) limit += opts.orderWindow || 2 * concurrency;

  const queue = [];
  let head = 0;
  let wake = null;
  let outstanding = 0; // added, not yet yielded
  let sourceDone = false;
  let failure = null;
  let pulling = false;
  let aborted = false;

  const f = new Fetcher({ ...opts, signal: undefined }, (r) => {
    queue.push(r);
    if (wake !== null) {
      const w = wake;
      wake = null;
      w();
    }
  });
  const poke = () => {
    if (wake !== null) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const onAbort = () => {
    aborted = true;
    f.close().catch(() => {});
    poke();
  };
  if (signal !== null) signal.addEventListener('abort', onAbort, { once: true });

  function pullSync() {
    try {
      while (outstanding < limit) {
        const n = source.next();
        if (n.done) {
          sourceDone = true;
          return;
        }
        f._addReported(urlString(n.value));
        outstanding++;
      }
    } catch (e) {
      failure = e;
      sourceDone = true;
    }
  }

  async function pullAsync() {
    pulling = true;
    try {
      while (outstanding < limit && !aborted && !f.closed) {
        const n = await source.next();
        if (n.done) {
          sourceDone = true;
          break;
        }
        if (aborted || f.closed) break;
        f._addReported(urlString(n.value));
        outstanding++;
      }
    } catch (e) {
      failure = e;
      sourceDone = true;
    } finally {
      pulling = false;
      poke();
    }
  }

  let finished = false;
  try {
    for (;;) {
      if (!sourceDone && !aborted && outstanding < limit && failure === null) {
        if (isAsync) {
          if (!pulling) pullAsync();
        } else {
          pullSync();
        }
      }
      if (head < queue.length) {
        const r = queue[head];
        queue[head++] = undefined;
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        outstanding--;
        yield r;
        continue;
      }
      if (failure !== null) throw failure;
      if (aborted && outstanding === 0) throw abortError(signal);
      if (sourceDone && outstanding === 0) break;
      await new Promise((resolve) => { wake = resolve; });
    }
    finished = true;
  } finally {
    if (signal !== null) signal.removeEventListener('abort', onAbort);
    await f.close();
    if (!sourceDone && typeof source.return === 'function') {
      try {
        const r = source.return();
        if (isAsync) await r;
      } catch (e) {
        if (finished) throw e;
      }
    }
  }
}

module.exports = {
  fetchAll,
  Fetcher,
  Result,
  version: native.version,
  curlVersion: native.curlVersion,
  uvVersion: native.uvVersion,
  addonPath: () => {
    for (const key of Object.keys(require.cache)) {
      if (key.endsWith('.node') && require.cache[key].exports === native) return key;
    }
    return null;
  },
};
