import type { SystemGraph } from '../../../src/map/graph.ts';

/** The four fault classes of the benchmark (issue 3): a, b, c, d. */
export const faultClasses = [
  'dependency-regression',
  'self-regression',
  'runtime',
  'config-firmware',
] as const;
export type FaultClass = (typeof faultClasses)[number];
export const faultClassLetter: Record<FaultClass, string> = {
  'dependency-regression': 'a',
  'self-regression': 'b',
  runtime: 'c',
  'config-firmware': 'd',
};

/** What a service does on the station; a station has one or more instances of a role. */
export type Role =
  | 'mqtt_broker'
  | 'manager'
  | 'evse_manager'
  | 'bsp'
  | 'powersupply_dc'
  | 'imd'
  | 'comm_hub'
  | 'powermeter_dc'
  | 'powermeter_ac'
  | 'slac'
  | 'iso15118'
  | 'auth'
  | 'rfid'
  | 'ocpp'
  | 'csms'
  | 'network'
  | 'evse_security'
  | 'energy_manager'
  | 'grid_connection_point'
  | 'persistent_store'
  | 'system'
  | 'display'
  | 'api'
  | 'error_history';

export type TriggerKind =
  | 'session_drop'
  | 'charging_fault'
  | 'auth_failure'
  | 'cable_check_fault'
  | 'ocpp_disconnect'
  | 'power_module_fault'
  | 'firmware_update_failed'
  | 'meter_fault'
  | 'connector_lock_fault'
  | 'transaction_error'
  | 'module_restart';

export interface ServiceInstance {
  name: string;
  role: Role;
  /** Connector number for per-connector modules; null for station-wide ones. */
  connector: number | null;
  /** EVerest module type (or in-house component name). */
  moduleType: string;
  /** For evse_manager: DC or AC connector. */
  current: 'DC' | 'AC' | null;
  aliases: string[];
  files: string[];
  functions: string[];
  dependsOn: string[];
  owners: string[];
  repo: string | null;
  description: string;
}

export interface Station {
  kind: 'dc' | 'ac' | 'dual';
  repo: string;
  ocpp: '1.6' | '2.0.1';
  services: ServiceInstance[];
  byName: Map<string, ServiceInstance>;
  triggerNames: Record<TriggerKind, string>;
  triggers: string[];
  yaml: string;
  graph: SystemGraph;
  /** Repository layout of module sources: path prefix of the modules tree. */
  modulesRoot: string;
  layout: 'upstream' | 'legacy' | 'vendor';
  /** Station id as it appears in OCPP (chargeBoxIdentity). */
  stationId: string;
}

/** Why a line or change is in a scenario. Never sent to the service; used by tests and reports. */
export type LogTag =
  | 'root'
  | 'path'
  | 'failing'
  | 'symptom'
  | 'session'
  | 'noise'
  | 'chronic'
  | 'other-session'
  | 'vague'
  | 'background';

export type ChangeTag =
  | 'culprit'
  | 'outside-candidates'
  | 'old'
  | 'after-event'
  | 'tests-docs'
  | 'innocent-candidate';

/** Distractor kinds every scenario carries (issue 3). */
export const distractorKinds = [
  'change-outside-candidates',
  'old-change',
  'change-after-event',
  'tests-docs-change',
  'noisy-warnings',
  'other-session-logs',
  'dependent-symptom-errors',
  'chronic-warnings',
  'vague-errors',
] as const;
export type DistractorKind = (typeof distractorKinds)[number];

/** Times are offsets in ms from the trigger (0); negative is before it. */
export interface ScenarioLog {
  at: number;
  service: string;
  level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  message: string;
  correlationId?: string;
  tag: LogTag;
}

export interface ScenarioChange {
  id: string;
  /** Set for GitHub-style commits (id equals it). */
  sha?: string;
  service: string;
  kind: 'deploy' | 'config' | 'firmware' | 'commit';
  at: number;
  summary: string;
  files?: string[];
  diff?: string;
  author?: string;
  url?: string;
  tag: ChangeTag;
}

export interface ScenarioEvent {
  eventType: string;
  /** The failing service as the firmware names it (map name or an alias). */
  service: string;
  errorCode: string;
  correlationId: string;
  message?: string;
  details: Record<string, string>;
  /** Sent in the nested DebugQueue form ({ details: { service, errorCode } }). */
  nested: boolean;
}

export interface ScenarioLabel {
  /** The map's name of the root-cause service. */
  rootService: string;
  /** The map's name of the failing service (the trigger's service, resolved). */
  failingService: string;
  faultClass: FaultClass;
  /** The blamed change (id; equals the sha for commits) when the fault is change-caused. */
  changeId: string | null;
  changeSha: string | null;
}

export interface Scenario {
  id: string;
  seed: number;
  index: number;
  template: string;
  title: string;
  stationKind: Station['kind'];
  serviceCount: number;
  hasCycle: boolean;
  mapYaml: string;
  changes: ScenarioChange[];
  logs: ScenarioLog[];
  event: ScenarioEvent;
  label: ScenarioLabel;
  /** Which evidence traits this scenario has (incomplete root evidence, generic failing error...). */
  traits: string[];
}
