import type { Rng } from './prng.ts';
import type { FaultClass, Role, ScenarioLog, ServiceInstance, Station, TriggerKind } from './types.ts';

export type Level = ScenarioLog['level'];

/** The charging session the trigger belongs to. */
export interface Session {
  correlationId: string;
  connector: number;
  /** The EVSE (EvseManager) the session runs on. */
  evse: ServiceInstance;
  transactionId: number;
  idTag: string;
}

export interface FaultContext {
  rng: Rng;
  station: Station;
  cls: FaultClass;
  failing: ServiceInstance;
  root: ServiceInstance;
  /** Services strictly between failing and root on the dependency path. */
  path: ServiceInstance[];
  session: Session;
  /** The name a service's own log lines carry (map name or an alias firmware uses). */
  logName(s: ServiceInstance): string;
  /** First service of a role on the station, if any. */
  find(role: Role): ServiceInstance | undefined;
}

export type CulpritSpec =
  | { kind: 'code'; tags: string[] }
  | {
      kind: 'config';
      /** Path under the layout's config root. */
      file: string;
      context: string;
      before: string[];
      changed: [string, string];
      after: string[];
      summary: string;
    }
  | { kind: 'firmware'; summary: string; version: string };

/** What a fault template says happened; the assembler turns it into timed lines. */
export interface ChainSpec {
  trigger: TriggerKind;
  errorCode: string;
  eventMessage: string;
  details?: Record<string, string>;
  /** The root service's anomaly, oldest first. `at` pins a line (ms before the trigger). */
  root: Array<{ level: Level; msg: string; at?: number }>;
  /** Lines of services between failing and root, by role; a default is used otherwise. */
  path?: Partial<Record<Role, [Level, string]>>;
  /** The failing service's error: a specific line and a generic one (used when evidence is thin). */
  failing: { specific: string; generic: string };
  /** What the failing service logs right after (stop transaction, state change), info or warn. */
  aftermath?: Array<[Level, string]>;
  /** Lines of other services at fixed offsets (e.g. the manager restarting a module). */
  extra?: Array<{ service: ServiceInstance; level: Level; msg: string; at: number }>;
  culprit?: CulpritSpec;
}

export interface FaultTemplate {
  id: string;
  title: string;
  classes: FaultClass[];
  failing: Role[];
  /** Role of the root cause, or 'self' when the failing service is the root. */
  root: Role | 'self';
  /**
   * Roles allowed between failing and root on the shortest dependency path (default: none, the root
   * is a direct dependency). A fault on another connector's hardware does not surface here.
   */
  paths?: Role[][];
  /** Extra feasibility condition beyond "root is a candidate of failing". */
  when?: (failing: ServiceInstance, root: ServiceInstance, station: Station) => boolean;
  build(ctx: FaultContext): ChainSpec;
}

/** Seconds to milliseconds, for readable offsets. */
export const s = (seconds: number) => Math.round(seconds * 1000);

/** Helper for per-class wording. */
export function byClass<T>(cls: FaultClass, options: Partial<Record<FaultClass, T>> & { default: T }): T {
  return options[cls] ?? options.default;
}

/** OCPP 1.6 vendorErrorCode used by EVerest for an MREC error type (error_mapping.hpp). */
export const vendorCode: Record<string, string> = {
  MREC11CableCheckFault: 'CX011',
  MREC17EVSEContactorFault: 'CX017',
  MREC22ResistanceFault: 'CX022',
  MREC14PilotFault: 'CX014',
  MREC9AuthorizationTimeout: 'CX009',
  MREC15PowerLoss: 'CX015',
  MREC25BrokenLatch: 'CX025',
};

/** Default line a service between failing and root logs when the fault passes through it. */
export function pathLine(ctx: FaultContext, svc: ServiceInstance, next: ServiceInstance): [Level, string] {
  const { rng } = ctx;
  const nextName = ctx.logName(next);
  switch (svc.role) {
    case 'imd':
      return [
        'error',
        `isolation_monitor/CommunicationFault raised: no reply from ${svc.moduleType} (Modbus address ${rng.int(1, 8)})`,
      ];
    case 'powermeter_ac':
      return [
        'error',
        `powermeter/CommunicationFault: read_register(0x${rng.pick(['5000', '5B00', '0156'])}) failed, no values published`,
      ];
    case 'powermeter_dc':
      return ['error', 'powermeter/CommunicationFault: device did not answer'];
    case 'iso15118':
      return [
        'error',
        `V2G: connection closed in state ${rng.pick(['CableCheck', 'PreCharge', 'CurrentDemand'])}, sending SessionStop`,
      ];
    case 'slac':
      return ['warn', 'D-LINK_READY = false, PLC link down'];
    case 'energy_manager':
      return ['warn', `No energy flow update from ${nextName} for ${rng.int(6, 30)} s, scheduling 0 A`];
    case 'grid_connection_point':
      return ['warn', `No external limits received, using fuse limit only`];
    case 'evse_security':
      return [
        'error',
        `verify_certificate: ${rng.pick(['CertificateNotYetValid', 'IssuerNotFound', 'Expired'])} for CSMS leaf`,
      ];
    case 'system':
      return ['warn', `Dependency ${nextName} not ready, deferring`];
    case 'ocpp':
      return ['warn', 'Websocket disconnected; charge point offline, queueing transaction messages'];
    case 'evse_manager':
      return ['error', `Raising error evse_manager/Inoperative caused by ${nextName}`];
    case 'auth':
      return ['warn', `Authorization deferred: ${nextName} unavailable`];
    case 'network':
      return ['warn', 'Uplink degraded'];
    case 'bsp':
      return ['warn', `MCU reports communication fault on connector ${svc.connector ?? 1}`];
    default:
      return ['warn', `Request to ${nextName} failed: Timeout`];
  }
}

/** A symptom error a dependent logs after the fault surfaced (the failing service's dependents). */
export function symptomLine(ctx: FaultContext, svc: ServiceInstance, errorCode: string): string | null {
  const c = ctx.session.connector;
  const { rng } = ctx;
  switch (svc.role) {
    case 'ocpp':
      return `Connector ${c} status Faulted (errorCode=${rng.pick(['OtherError', 'InternalError'])}, vendorErrorCode=${vendorCode[errorCode] ?? errorCode}); StatusNotification queued`;
    case 'display':
      return `Session screen: error on connector ${c}: "${rng.pick(['Charging stopped - please contact support', 'Technical fault', 'Charging not possible'])}"`;
    case 'api':
      return `everest_api/errors/var/active_errors: ${errorCode} active on evse ${c}`;
    case 'auth':
      return `Connector ${c} faulted; withdrawing authorization for token ${ctx.session.idTag}`;
    case 'error_history':
      return `Error ${errorCode} (severity High) raised on connector ${c} could not be cleared`;
    case 'energy_manager':
      return `EVSE ${c} reports Faulted, dropping it from the energy schedule`;
    case 'grid_connection_point':
      return `Child EVSE ${c} faulted; limits recalculated`;
    case 'evse_manager':
      return `Session on connector ${svc.connector ?? c} aborted: ${errorCode}`;
    case 'system':
      return `Reset requested by error handler after ${errorCode}`;
    default:
      return null;
  }
}
