import { SourceError } from '../core/log-source.ts';

/**
 * Fetches with the trigger's deadline; maps network failures and non-2xx answers to SourceError and
 * returns the parsed JSON body (bounded: at most `maxBytes`).
 */
export async function fetchJson(
  url: string,
  init: RequestInit & { signal: AbortSignal },
  maxBytes = 8 * 1024 * 1024,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (init.signal.aborted) throw new SourceError('timeout', 'no answer before the deadline');
    throw new SourceError('down', String(err));
  }
  try {
    if (!res.ok) throw new SourceError('http', `HTTP ${res.status}`, res.status);
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > maxBytes) throw new SourceError('bad_answer', `answer of ${len} bytes is too large`);
    const text = await res.text();
    if (text.length > maxBytes) throw new SourceError('bad_answer', 'answer is too large');
    try {
      return JSON.parse(text);
    } catch {
      throw new SourceError('bad_answer', 'answer is not JSON');
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    if (init.signal.aborted) throw new SourceError('timeout', 'no answer before the deadline');
    throw new SourceError('down', String(err));
  } finally {
    // Do not leave a half-read body holding the connection.
    if (!res.bodyUsed) await res.body?.cancel().catch(() => {});
  }
}

/** Splits user:password out of a URL: the clean URL and a Basic Authorization header, if any. */
export function splitCredentials(raw: string): { base: string; authorization?: string } {
  const u = new URL(raw);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const base = u.toString().replace(/\/+$/, '');
  if (!user && !pass) return { base };
  return { base, authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}
