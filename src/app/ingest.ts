import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { LogLine } from '../core/log-line.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { EverestReceiver } from '../ingest/everest.ts';
import { createIngestIntake, type IngestIntake } from '../ingest/intake.ts';
import { type MqttReceiver, startMqttReceiver } from '../ingest/mqtt.ts';
import type { OcppIngest } from '../ingest/ocpp.ts';
import { createLazyOcppIngest } from '../ingest/ocpp-lazy.ts';
import type { AppStore } from './store.ts';

/** The intake every receiver writes into, and the OCPP-J ingest on it. */
export interface AppIntake {
  intake: IngestIntake;
  ocpp: OcppIngest;
  /** Cluster mode: committed lines and new events are also handed to the shared evidence streams. */
  shareWith(evidence: { append(lines: LogLine[]): void; appendEvent(event: DebugEvent): void }): void;
}

/**
 * The ingest intake over the store's writer. In cluster mode committed log lines and events are
 * also appended to the shared evidence streams (after the commit, never holding the
 * acknowledgement); shareWith() is called once the cluster is up, before any input is taken.
 */
export function createAppIntake(deps: {
  config: Config;
  store: AppStore;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
}): AppIntake {
  const { config, store, clock, metrics } = deps;
  const localIntake = createIngestIntake({
    writer: store.writer,
    metrics,
    clock,
    triggers: () => store.maps.current().graph.triggers,
  });
  let shareLines: ((lines: LogLine[]) => void) | null = null;
  let shareEvent: ((event: DebugEvent) => void) | null = null;
  const intake: IngestIntake = {
    ...localIntake,
    event: async (event) => {
      const r = await localIntake.event(event);
      if (shareEvent && r.inserted) shareEvent(r.event);
      return r;
    },
    logs: async (lines, batch) => {
      const r = await localIntake.logs(lines, batch);
      if (shareLines && !r.duplicate) shareLines(lines);
      return r;
    },
  };

  // OCPP-J frames (issue 14): POST /api/ocpp/:chargePointId and MQTT PREFIX/ocpp/<chargePointId>.
  const ocpp = createLazyOcppIngest(async () =>
    (await import('../ingest/ocpp.ts')).createOcppIngest({
      sink: intake,
      graph: () => store.maps.current().graph,
      responseTimeoutMs: config.TRACEPULSE_OCPP_RESPONSE_TIMEOUT_S * 1000,
      logger: deps.logger.child('ocpp'),
      metrics,
      scheduler: deps.scheduler,
    }),
  );
  return {
    intake,
    ocpp,
    shareWith(evidence) {
      shareLines = evidence.append;
      shareEvent = evidence.appendEvent;
    },
  };
}

/** The MQTT receivers: DebugQueue events and logs, and the EVerest adapter; started after the HTTP server. */
export interface AppReceivers {
  mqtt(): MqttReceiver | null;
  /** For /healthz: enabled, and the receiver's state once started. */
  health: { mqtt(): Record<string, unknown>; everest(): Record<string, unknown> };
  start(): Promise<void>;
  /** Closes both (each given 5 s), before the HTTP server stops. */
  stop(withGrace: (p: Promise<unknown> | undefined, what: string) => Promise<void>): Promise<void>;
}

export function createReceivers(deps: {
  config: Config;
  intake: AppIntake;
  store: AppStore;
  stationId: string;
  instanceId: string;
  /** Cluster mode: one persistent MQTT session per instance, all in one shared-subscription group. */
  clustered: boolean;
  logger: Logger;
  metrics: Metrics;
}): AppReceivers {
  const { config, stationId, logger } = deps;
  let mqtt: MqttReceiver | null = null;
  let everest: EverestReceiver | null = null;
  const everestUrl = config.TRACEPULSE_EVEREST
    ? (config.TRACEPULSE_EVEREST_MQTT_URL ?? config.TRACEPULSE_MQTT_URL)
    : undefined;
  if (config.TRACEPULSE_EVEREST && !everestUrl)
    logger.warn(
      'TRACEPULSE_EVEREST=on needs TRACEPULSE_EVEREST_MQTT_URL or TRACEPULSE_MQTT_URL; EVerest adapter off',
    );
  return {
    mqtt: () => mqtt,
    health: {
      mqtt: () => (config.TRACEPULSE_MQTT_URL ? { enabled: true, ...mqtt?.state() } : { enabled: false }),
      everest: () => (everestUrl ? { enabled: true, ...everest?.state() } : { enabled: false }),
    },
    async start() {
      if (config.TRACEPULSE_MQTT_URL) {
        mqtt = await startMqttReceiver({
          url: config.TRACEPULSE_MQTT_URL,
          prefix: config.TRACEPULSE_MQTT_TOPIC_PREFIX,
          clientId:
            config.TRACEPULSE_MQTT_CLIENT_ID ??
            (deps.clustered ? `tracepulse-${stationId}-${deps.instanceId}` : `tracepulse-${stationId}`).slice(
              0,
              128,
            ),
          shareGroup: deps.clustered ? config.TRACEPULSE_MQTT_SHARE_GROUP : undefined,
          intake: deps.intake.intake,
          logger: logger.child('mqtt'),
          maxPayloadBytes: config.TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES,
          ocpp: deps.intake.ocpp.mqtt,
        });
      }
      if (everestUrl) {
        // EVerest adapter (issue 14): errors and session events from the station's own topics.
        const { startEverestReceiver } = await import('../ingest/everest.ts');
        everest = await startEverestReceiver({
          url: everestUrl,
          prefix: config.TRACEPULSE_EVEREST_PREFIX,
          apiPrefix: config.TRACEPULSE_EVEREST_API_PREFIX,
          clientId: `${config.TRACEPULSE_MQTT_CLIENT_ID ?? `tracepulse-${stationId}`}-everest`.slice(0, 128),
          sink: deps.intake.intake,
          graph: () => deps.store.maps.current().graph,
          logger: logger.child('everest'),
          metrics: deps.metrics,
          maxPayloadBytes: config.TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES,
        });
      }
    },
    async stop(withGrace) {
      await withGrace(mqtt?.stop(), 'MQTT did not close in time');
      await withGrace(everest?.stop(), 'EVerest MQTT did not close in time');
    },
  };
}
