// Parsing of comma-separated URL lists, as given to flags like --listen-client-urls or --endpoints. Pure.

export interface UrlListOptions {
  /** Schemes accepted, without the colon (e.g. ['http', 'https']). */
  readonly schemes: readonly string[];
  /** Reject URLs with a path other than '/', a query or a fragment (listen and advertise URLs name a socket, not a resource). */
  readonly bareOnly?: boolean;
  /** Reject the unspecified addresses 0.0.0.0 and [::] (an advertised URL must be reachable by others). */
  readonly routableOnly?: boolean;
}

export type UrlListResult =
  | { readonly ok: true; readonly urls: readonly string[] }
  | { readonly ok: false; readonly error: string };

const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '[::]']);

/**
 * Parses one URL. Returns the normalized form (WHATWG serialization without a trailing '/' for bare URLs),
 * or an error message that quotes the input.
 */
export function parseUrl(input: string, options: UrlListOptions): { ok: true; url: string } | { ok: false; error: string } {
  const text = input.trim();
  if (text === '') return { ok: false, error: 'empty URL' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: `"${text}" is not a URL (expected e.g. ${options.schemes[0] ?? 'http'}://127.0.0.1:2379)` };
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!options.schemes.includes(scheme)) {
    const expected = options.schemes.map((s) => `"${s}"`).join(' or ');
    return { ok: false, error: `"${text}" has scheme "${scheme}"; expected ${expected} (e.g. ${options.schemes[0] ?? 'http'}://127.0.0.1:2379)` };
  }
  if (url.hostname === '') return { ok: false, error: `"${text}" has no host` };
  if (url.username !== '' || url.password !== '') return { ok: false, error: `"${text}" must not carry credentials` };
  if (options.bareOnly && ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '')) {
    return { ok: false, error: `"${text}" must not have a path, query or fragment` };
  }
  if (options.routableOnly && UNSPECIFIED_HOSTS.has(url.hostname)) {
    return { ok: false, error: `"${text}" uses the unspecified address ${url.hostname}, which other machines cannot reach` };
  }
  const normalized = options.bareOnly ? `${url.protocol}//${url.host}` : url.href;
  return { ok: true, url: normalized };
}

/** Parses "url,url,...": at least one URL, no duplicates. */
export function parseUrlList(input: string, options: UrlListOptions): UrlListResult {
  const parts = input.split(',');
  const urls: string[] = [];
  for (const part of parts) {
    const parsed = parseUrl(part, options);
    if (!parsed.ok) return { ok: false, error: parts.length > 1 && part.trim() === '' ? 'empty entry in the list' : parsed.error };
    if (urls.includes(parsed.url)) return { ok: false, error: `"${parsed.url}" is listed twice` };
    urls.push(parsed.url);
  }
  return { ok: true, urls };
}
