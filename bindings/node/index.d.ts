// Types for uvfetch, the uvfetch engine as a Node-API addon on Node's own
// libuv loop. See README.md.

/** The library's error names: UVFETCH_E*, or a libuv code's name. */
export type ErrorName =
  | 'UVFETCH_EINVAL'
  | 'UVFETCH_ENOMEM'
  | 'UVFETCH_EURL'
  | 'UVFETCH_ESCHEME'
  | 'UVFETCH_ECLOSING'
  | 'UVFETCH_ECANCELED'
  | 'UVFETCH_ENOTFOUND'
  | 'UVFETCH_ERESOLVE'
  | 'UVFETCH_ECONNECT'
  | 'UVFETCH_ETIMEDOUT'
  | 'UVFETCH_ETLS'
  | 'UVFETCH_EREDIRECTS'
  | 'UVFETCH_EPROTOCOL'
  | 'UVFETCH_ENETWORK'
  | 'UVFETCH_EDECODE'
  | 'UVFETCH_ETOOLARGE'
  | 'UVFETCH_EHTTP'
  | 'UVFETCH_ECURL'
  | 'UVFETCH_EWRITE'
  | (string & {});

/** Options of a fetcher; every one is optional. Times are milliseconds. */
export interface Options {
  /** Transfers in flight at most (50). */
  concurrency?: number;
  /** Results in input order instead of completion order (false). */
  ordered?: boolean;
  /** With ordered: URLs started past the oldest undelivered one (2 x concurrency). */
  orderWindow?: number;
  /** Running transfers per host:port at most (no cap). */
  maxPerHost?: number;
  /** Whole-transfer timeout, ms (none). */
  timeout?: number;
  /** Connect timeout, ms (libcurl's 300 s). */
  connectTimeout?: number;
  /** Fail a transfer that receives less than a byte a second this long, ms (60000). */
  idleTimeout?: number;
  /** Retry transient failures this many times (0). */
  retries?: number;
  /** First retry's backoff, ms, doubling with each (1000). */
  retryDelay?: number;
  /** Extra request headers for every URL. */
  headers?: Record<string, string | number | Array<string | number>> | string[];
  /** Follow Location (true). */
  followRedirects?: boolean;
  /** At most this many redirects (10). */
  maxRedirects?: number;
  /** Ask for gzip/deflate/br and decode (true). */
  compressed?: boolean;
  /** true: HTTP/2 where the server offers it; false: HTTP/1.1 (libcurl's default). */
  http2?: boolean;
  /** CA bundle file to verify servers with (the system's). */
  cacert?: string;
  /** Do not verify TLS certificates or host names (false). */
  insecure?: boolean;
  /** Proxy URL; "" for none (the environment's, as curl). */
  proxy?: string;
  /** Decoded body bytes at most; a larger body fails with UVFETCH_ETOOLARGE (no limit). */
  maxFilesize?: number;
  /** User-Agent ("uvfetch/VERSION"). */
  userAgent?: string;
  /** Allowed schemes, also on redirect ("http,https"). */
  protocols?: string | string[];
  /** "HOST:PORT:ADDR" entries, as curl's --resolve. */
  resolve?: string | string[];
  /** Transfer starts per second at most (no limit). */
  rate?: number;
  /** Keep headers on redirects to another host (false). */
  locationTrusted?: boolean;
  /** Find how many to run at once, concurrency the ceiling (false). */
  adaptive?: boolean;
  /** Keep each body: results carry it as result.body (false). */
  body?: boolean;
  /** Cancels everything still queued or running. */
  signal?: AbortSignal;
}

/** One finished URL. */
export interface Result<D = unknown> {
  /** The URL as given. */
  url: string;
  /** After redirects; equals url when none. */
  effectiveUrl: string;
  /** A response was received in full (a 404 too). */
  ok: boolean;
  /** null, or why it failed. */
  error: ErrorName | null;
  /** A one-line reason; "" when ok. */
  message: string;
  /** Last response's status; 0 when none. */
  httpCode: number;
  /** 10, 11, 20 or 30; 0 when no response. */
  httpVersion: number;
  /** Body bytes as decoded. */
  bytes: number;
  /** Body bytes as received. */
  wireBytes: number;
  /** Seconds from start to end of the transfer. */
  totalTime: number;
  /** Seconds to the first byte of the response. */
  ttfb: number;
  /** Transfers made for this URL (0 for one cancelled or refused before starting). */
  attempts: number;
  /** 0-based position among the URLs added: the id add() returned. */
  ordinal: number;
  /** Redirects followed. */
  redirects: number;
  /** What was given to Fetcher.add (undefined from fetchAll). */
  data: D;
  /** With body: true: the decoded body, or null when not ok. */
  body?: Buffer | null;
}

export interface Stats {
  added: number;
  queued: number;
  waiting: number;
  running: number;
  held: number;
  done: number;
  failed: number;
  dnsLookups: number;
  dnsHits: number;
  dnsFailures: number;
  /** Added, result not yet delivered. */
  pending: number;
  /** Transfers that may run at once now. */
  limit: number;
}

/**
 * Fetch every URL of `urls` (any iterable or async iterable of strings or
 * URL objects, read only as slots free up) and yield one Result per URL, in
 * completion order or, with ordered: true, input order. Breaking out of the
 * loop cancels what is left. An aborted signal ends the iteration with the
 * signal's reason (an AbortError) after the cancelled URLs' results.
 */
export function fetchAll(
  urls: Iterable<string | URL> | AsyncIterable<string | URL>,
  options?: Options,
): AsyncGenerator<Result<undefined>, void, undefined>;

export class Fetcher<D = unknown> {
  /** The engine on this thread's loop; onResult runs once per URL added. */
  constructor(options: Options | undefined, onResult: (result: Result<D>) => void);
  constructor(onResult: (result: Result<D>) => void);
  /**
   * Queue a URL; returns its id (the result's ordinal). Throws an Error
   * whose code is the library's name (UVFETCH_EURL, UVFETCH_ESCHEME,
   * UVFETCH_ECLOSING) for a URL refused; then no result comes for it.
   */
  add(url: string | URL, data?: D, options?: { headers?: Options['headers']; timeout?: number }): number;
  /** Cancel a pending URL; true when it was pending. Its result says UVFETCH_ECANCELED. */
  cancel(id: number): boolean;
  /** Cancel what is pending; resolves once every handle is released. */
  close(): Promise<void>;
  /** The library's counts. */
  stats(): Stats;
  /** URLs added whose result has not come yet. */
  readonly pending: number;
  /** close() was called (or the signal aborted). */
  readonly closed: boolean;
}

/** The library's version. */
export function version(): string;
/** libcurl's version. */
export function curlVersion(): string;
/** The libuv the addon runs on: node's own (process.versions.uv). */
export function uvVersion(): string;
