/** The EVerest topics TracePulse subscribes to, and which message each topic carries. */

/** Subscriptions under EVerest's own prefix `p` and the API modules' prefix `a`. */
export function everestTopics(p: string, a: string): string[] {
  return [
    `${p}modules/+/impl/+/error/#`,
    `${p}modules/+/impl/+/var/session_event`,
    `${p}modules/+/impl/+/var`,
    `${p}+/+/error/#`,
    `${p}+/+/var`,
    `${a}errors/var/active_errors`,
    `${a}+/var/session_info`,
    `${a}1/+/+/e2m/session_event`,
    `${a}1/+/+/e2m/error_raised`,
    `${a}1/+/+/e2m/error_cleared`,
    `${a}1/+/+/m2e/raise_error`,
    `${a}1/+/+/m2e/clear_error`,
  ];
}

export type Route =
  | { kind: 'error'; module: string; impl: string }
  | { kind: 'var'; module: string; impl: string; name: string | null }
  | { kind: 'api-session-event'; module: string }
  | { kind: 'api-error'; module: string; apiType: string; cleared: boolean }
  | { kind: 'active-errors' }
  | { kind: 'session-info'; module: string };

/** Which EVerest message a topic carries (see everestTopics). */
export function routeTopic(topic: string, prefix: string, apiPrefix: string): Route | null {
  if (topic.startsWith(prefix)) {
    const s = topic.slice(prefix.length).split('/');
    // modules/{module_id}/impl/{impl_id}/(error/{type...} | var[/name])
    if (s[0] === 'modules' && s[2] === 'impl' && s.length >= 5) {
      const [, module, , impl, kind, ...rest] = s as [string, string, string, string, string, ...string[]];
      if (kind === 'error' && rest.length) return { kind: 'error', module, impl };
      if (kind === 'var') return { kind: 'var', module, impl, name: rest.length ? rest.join('/') : null };
      return null;
    }
    // Older layout: {module_id}/{impl_id}/(error/{type...} | var)
    if (s.length >= 3 && s[0] !== 'modules') {
      const [module, impl, kind, ...rest] = s as [string, string, string, ...string[]];
      if (kind === 'error' && rest.length) return { kind: 'error', module, impl };
      if (kind === 'var' && !rest.length) return { kind: 'var', module, impl, name: null };
    }
    return null;
  }
  if (topic.startsWith(apiPrefix)) {
    const s = topic.slice(apiPrefix.length).split('/');
    if (s.join('/') === 'errors/var/active_errors') return { kind: 'active-errors' };
    if (s.length === 3 && s[1] === 'var' && s[2] === 'session_info')
      return { kind: 'session-info', module: s[0] as string };
    // 1/{api_type}/{module_id}/{m2e|e2m}/{msg}
    if (s[0] === '1' && s.length === 5) {
      const [, apiType, module, dir, msg] = s as [string, string, string, string, string];
      if (dir === 'e2m' && msg === 'session_event') return { kind: 'api-session-event', module };
      if (dir === 'e2m' && (msg === 'error_raised' || msg === 'error_cleared'))
        return { kind: 'api-error', module, apiType, cleared: msg === 'error_cleared' };
      if (dir === 'm2e' && (msg === 'raise_error' || msg === 'clear_error'))
        return { kind: 'api-error', module, apiType, cleared: msg === 'clear_error' };
    }
  }
  return null;
}

export function nameOf(data: unknown): string | null {
  return data && typeof data === 'object' && 'name' in data && typeof data.name === 'string'
    ? data.name
    : null;
}

/**
 * Versioned API errors: error_history_consumer e2m/error_raised carries a full ErrorObject;
 * a driver's m2e/raise_error carries {type, sub_type, message} with the API module as origin and
 * the type named within the API (generic_error_raiser_API.yaml ErrorEnum), so it is qualified.
 */
export function apiError(json: unknown, apiType: string): unknown {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  if ('origin' in o) return o;
  const type = typeof o.type === 'string' && !o.type.includes('/') ? `${apiType}/${o.type}` : o.type;
  return { ...o, type };
}
