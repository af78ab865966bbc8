import cssSource from './app.css' with { type: 'text' };
import js from './client.js' with { type: 'text' };

// The source is formatted for reading; the wire gets it without the whitespace (about a third smaller).
const css = cssSource
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .replace(/\s+/g, ' ')
  .replace(/\s*([{};,>])\s*/g, '$1')
  .replace(/:\s+/g, ':')
  .trim();

const tag = (s: string) => Bun.hash(s).toString(36).slice(0, 10);

/** Content-hashed paths: the assets can be cached for good, which matters on LTE. */
export const assetPath = {
  css: `/chat/assets/app.${tag(css)}.css`,
  js: `/chat/assets/app.${tag(js)}.js`,
} as const;

/** Every asset of the UI, embedded in the executable (no CDN, works offline). */
export const assets: ReadonlyMap<string, { body: string; type: string }> = new Map([
  [assetPath.css, { body: css, type: 'text/css; charset=utf-8' }],
  [assetPath.js, { body: js, type: 'text/javascript; charset=utf-8' }],
]);
