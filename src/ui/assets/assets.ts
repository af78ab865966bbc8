import js from './client.js' with { type: 'text' };
import { minifiedCss } from './minify-css.ts' with { type: 'macro' };

// Minified when the bundle is built (a macro): start-up does not run the regexes.
const css: string = minifiedCss();

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
