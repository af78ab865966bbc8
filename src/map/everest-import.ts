import { dump, load, YAMLException } from 'js-yaml';
import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import { everestModuleDirs } from './everest-modules.ts';

/**
 * An EVerest config (the manager's YAML: `active_modules:` with `module:` and `connections:`,
 * EVerest/everest-core@23c9dac:config/config-sil-ocpp.yaml) -> a TracePulse system map.
 * One service per module id; `depends_on` are the module ids its connections name (a failure in
 * a required module surfaces in the module that requires it); files from the module type's folder.
 */

const connectionSchema = z.object({ module_id: z.string().min(1), implementation_id: z.string().min(1) });
const moduleSchema = z.object({
  module: z.string().min(1),
  connections: z.record(z.string(), z.array(connectionSchema).nullable()).nullish(),
});
const configSchema = z.object({
  active_modules: z.record(z.string().min(1), moduleSchema),
});

/**
 * Functions known to matter in failures, per module type; each exists in the everest-core snapshot
 * above (EVerest/everest-core@23c9dac, the module folders of everest-modules.ts).
 */
const knownFunctions: Record<string, string[]> = {
  EvseManager: [
    'Charger::run_state_machine',
    'Charger::power_available',
    'Charger::error_shutdown',
    'Charger::stop_transaction',
    'Charger::cleanup_transactions_on_startup',
  ],
  OCPP: [
    'OCPP::process_session_event',
    'ChargePointImpl::on_transaction_stopped',
    'ChargePointImpl::connected_callback',
  ],
  Auth: ['AuthHandler::on_token', 'handle_session_event', 'set_connection_timeout'],
  EvseSlac: ['slacImpl::run', 'handle_dlink_error', 'handle_enter_bcd'],
  EvseV2G: ['handle_iso_cable_check', 'handle_iso_power_delivery', 'v2g_handle_connection'],
  EnergyManager: ['EnergyManagerImpl::run_optimizer', 'Broker::trade'],
  EnergyNode: ['handle_enforce_limits', 'set_external_limits'],
  PersistentStore: ['handle_store', 'handle_load'],
  System: ['standard_firmware_update', 'handle_reset', 'handle_set_system_time'],
  EvseSecurity: ['handle_verify_certificate', 'handle_get_leaf_expiry_days_count'],
};

export type ImportResult =
  | { ok: true; yaml: string; services: number; edges: Array<[string, string]>; warnings: string[] }
  | { ok: false; problems: string[] };

/** Reads an EVerest config and writes a system map (YAML text) that `map check` accepts. */
export function importEverestConfig(
  text: string,
  options: { repo?: string; source?: string } = {},
): ImportResult {
  const warnings: string[] = [];
  const read = readYaml(text, warnings);
  if ('problems' in read) return { ok: false, problems: read.problems };
  const parsed = configSchema.safeParse(read.raw);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error.issues) };
  const { services, edges } = moduleServices(parsed.data.active_modules, warnings);
  const map = {
    ...(options.repo ? { repo: options.repo } : {}),
    triggers: ['SESSION_DROP', 'OCPP_STATUS_ERROR'],
    services,
  };
  const header = [
    `# System map imported from the EVerest config ${options.source ?? ''}`.trimEnd(),
    '# by `tracepulse map import everest`: one service per active module, depends_on = its connections.',
    '',
  ].join('\n');
  return {
    ok: true,
    yaml: `${header}${dump(map, { lineWidth: 120, noRefs: true })}`,
    services: Object.keys(services).length,
    edges,
    warnings,
  };
}

/** The config's YAML; a duplicated key is a warning (the later value is used), any other syntax error a problem. */
function readYaml(text: string, warnings: string[]): { raw: unknown } | { problems: string[] } {
  try {
    return { raw: load(text) };
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    const line = (err.mark?.line ?? 0) + 1;
    if (!/duplicated mapping key/.test(err.reason))
      return { problems: [`YAML syntax error at line ${line}: ${err.reason}`] };
    // Shipped configs have them (config-CB-EVAL-DC.yaml repeats `connections:`); the later one is used.
    warnings.push(`line ${line}: duplicated key; the later value is used`);
    try {
      return { raw: load(text, { json: true }) };
    } catch (again) {
      if (again instanceof YAMLException)
        return { problems: [`YAML syntax error at line ${(again.mark?.line ?? 0) + 1}: ${again.reason}`] };
      throw again;
    }
  }
}

/**
 * One service per active module: depends_on the modules its connections name (a connection to a
 * module that is not active is a warning and left out), files and known functions from its type.
 */
function moduleServices(modules: z.infer<typeof configSchema>['active_modules'], warnings: string[]) {
  const edges: Array<[string, string]> = [];
  const services: Record<string, Record<string, unknown>> = {};
  for (const [id, m] of Object.entries(modules)) {
    const deps: string[] = [];
    for (const [requirement, list] of Object.entries(m.connections ?? {})) {
      for (const c of list ?? []) {
        if (!(c.module_id in modules)) {
          warnings.push(
            `${id}.connections.${requirement}: module '${c.module_id}' is not in active_modules (left out)`,
          );
          continue;
        }
        if (c.module_id === id || deps.includes(c.module_id)) continue;
        deps.push(c.module_id);
        edges.push([id, c.module_id]);
      }
    }
    const dir = everestModuleDirs[m.module];
    if (!dir) warnings.push(`${id}: module type '${m.module}' is not in everest-core; no files`);
    const service: Record<string, unknown> = { module: m.module };
    if (deps.length) service.depends_on = deps;
    if (dir) service.files = [dir];
    const fns = knownFunctions[m.module];
    if (fns) service.functions = fns;
    services[id] = service;
  }
  return { services, edges };
}
