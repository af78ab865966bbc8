import type { Edit, FnSpec } from './catalogue.ts';
import type { Rng } from './prng.ts';

/** A git-style unified diff of one edit inside a function; the hunk header names the function. */
export function functionDiff(path: string, fn: FnSpec, edit: Edit, rng: Rng): string {
  const before = fn.body;
  const after = [...before.slice(0, edit.line), ...edit.to, ...before.slice(edit.line + 1)];
  const start = fn.line + rng.int(-6, 40);
  const body = [
    ...before.slice(0, edit.line).map((l) => ` ${l}`),
    `-${before[edit.line] ?? ''}`,
    ...edit.to.map((l) => `+${l}`),
    ...before.slice(edit.line + 1).map((l) => ` ${l}`),
  ];
  return hunkFile(path, rng, [
    `@@ -${start},${before.length} +${start},${after.length} @@ ${fn.signature}`,
    ...body,
  ]);
}

/** A diff that only adds lines (tests, docs), under a header naming `context`. */
export function additionDiff(path: string, context: string, added: string[], rng: Rng, start = 1): string {
  return hunkFile(path, rng, [
    `@@ -${start},2 +${start},${added.length + 2} @@ ${context}`,
    ' ',
    ...added.map((l) => `+${l}`),
    ' ',
  ]);
}

/** A config-file diff changing one value. */
export function configDiff(
  path: string,
  context: string,
  lines: { before: string[]; changed: [string, string]; after: string[] },
  rng: Rng,
): string {
  const start = rng.int(12, 180);
  const n = lines.before.length + lines.after.length + 1;
  return hunkFile(path, rng, [
    `@@ -${start},${n} +${start},${n} @@ ${context}`,
    ...lines.before.map((l) => ` ${l}`),
    `-${lines.changed[0]}`,
    `+${lines.changed[1]}`,
    ...lines.after.map((l) => ` ${l}`),
  ]);
}

function hunkFile(path: string, rng: Rng, hunk: string[]): string {
  return [
    `diff --git a/${path} b/${path}`,
    `index ${rng.hex(7)}..${rng.hex(7)} 100644`,
    `--- a/${path}`,
    `+++ b/${path}`,
    ...hunk,
    '',
  ].join('\n');
}
