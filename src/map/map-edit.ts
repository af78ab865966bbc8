import { dump, load } from 'js-yaml';

export type MapEdit =
  | { ok: true; yaml: string; changed: boolean; rewritten: boolean }
  | { ok: false; problems: string[] };

type RawMap = { services?: Record<string, { depends_on?: unknown } | null> };

const plainName = /^[A-Za-z0-9_.-]+$/;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Adds `dependsOn` to `service`'s depends_on in a system map's YAML text (creating the list if
 * needed). The edit is made in the text, so the engineers' comments and layout stay; the result is
 * checked by parsing it again (it must be the old map plus that edge and nothing else), and when
 * the text is shaped in a way the edit does not handle it is re-written from the parsed map
 * instead (`rewritten`: comments lost). Validation of the map itself is the caller's (the same
 * path as PUT /api/system-map).
 */
export function addDependency(yamlText: string, service: string, dependsOn: string): MapEdit {
  let raw: RawMap;
  try {
    raw = (load(yamlText) ?? {}) as RawMap;
  } catch (err) {
    return { ok: false, problems: [`the map in force does not parse: ${(err as Error).message}`] };
  }
  const services = raw.services;
  if (!services || typeof services !== 'object' || !Object.hasOwn(services, service))
    return { ok: false, problems: [`service '${service}' is not in the system map`] };
  const spec = services[service] ?? {};
  const current = Array.isArray(spec.depends_on) ? (spec.depends_on as unknown[]) : [];
  if (spec.depends_on !== undefined && !Array.isArray(spec.depends_on))
    return { ok: false, problems: [`services.${service}.depends_on is not a list`] };
  if (current.includes(dependsOn)) return { ok: true, yaml: yamlText, changed: false, rewritten: false };

  const expected: RawMap = structuredClone(raw);
  expected.services![service] = { ...spec, depends_on: [...current, dependsOn] };

  const edited =
    plainName.test(service) && plainName.test(dependsOn) ? editText(yamlText, service, dependsOn) : null;
  if (edited !== null) {
    try {
      if (Bun.deepEquals(load(edited), expected, true))
        return { ok: true, yaml: edited, changed: true, rewritten: false };
    } catch {
      // fall through to the re-write
    }
  }
  return { ok: true, yaml: dump(expected, { lineWidth: 120, noRefs: true }), changed: true, rewritten: true };
}

/**
 * Where `service` is under the top-level `services:` key: its header line `at`, and `end`, the line
 * after its block (the following lines indented deeper, blank and comment lines included); null
 * when the text has no such key or service.
 */
function serviceBlock(lines: string[], service: string): { at: number; end: number } | null {
  const top = lines.findIndex((l) => /^services\s*:\s*(#.*)?$/.test(l));
  if (top < 0) return null;
  const header = new RegExp(`^(\\s+)(["']?)${escapeRe(service)}\\2\\s*:\\s*(#.*)?$`);
  let at = -1;
  let indent = 0;
  for (let i = top + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\S/.test(l) && !l.startsWith('#')) break; // next top-level key
    const m = header.exec(l);
    if (m) {
      at = i;
      indent = m[1]!.length;
      break;
    }
  }
  if (at < 0) return null;
  let end = at + 1;
  while (end < lines.length) {
    const l = lines[end]!;
    if (l.trim() !== '' && !l.trim().startsWith('#') && l.length - l.trimStart().length <= indent) break;
    end++;
  }
  return { at, end };
}

/** The in-place text edit for the usual shapes (flow list, block list, no list); null otherwise. */
function editText(text: string, service: string, dep: string): string | null {
  const lines = text.split('\n');
  const found = serviceBlock(lines, service);
  if (!found) return null;
  const { at, end } = found;
  const block = lines.slice(at + 1, end);
  const firstChild = block.find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (!firstChild) return null;
  const childIndent = firstChild.length - firstChild.trimStart().length;
  const key = (re: string) => new RegExp(`^ {${childIndent}}depends_on\\s*:${re}`);

  for (let j = 0; j < block.length; j++) {
    const l = block[j]!;
    const flow = key('\\s*\\[(.*)\\]\\s*(#.*)?$').exec(l);
    if (flow) {
      const items = flow[1]!.trim();
      const comment = flow[2] ? ` ${flow[2]}` : '';
      lines[at + 1 + j] =
        `${' '.repeat(childIndent)}depends_on: [${items ? `${items}, ${dep}` : dep}]${comment}`;
      return lines.join('\n');
    }
    if (key('\\s*(#.*)?$').test(l)) {
      let last = -1;
      let itemIndent = -1;
      for (let k = j + 1; k < block.length; k++) {
        const t = block[k]!;
        if (t.trim() === '' || t.trim().startsWith('#')) continue;
        const ind = t.length - t.trimStart().length;
        if (!t.trimStart().startsWith('- ') || ind < childIndent || (itemIndent >= 0 && ind !== itemIndent))
          break;
        itemIndent = ind;
        last = k;
      }
      if (last < 0) return null;
      lines.splice(at + 1 + last + 1, 0, `${' '.repeat(itemIndent)}- ${dep}`);
      return lines.join('\n');
    }
  }
  lines.splice(at + 1, 0, `${' '.repeat(childIndent)}depends_on: [${dep}]`);
  return lines.join('\n');
}
