import type { LogSource } from '../core/log-source.ts';
import type { ElasticsearchOptions } from './elasticsearch.ts';
import type { LokiOptions } from './loki.ts';

/** The settings read here (a slice of config/config.ts's Config, which app.ts passes). */
export interface LogSourceSettings {
  TRACEPULSE_LOKI_URL?: string;
  TRACEPULSE_LOKI_TENANT?: string;
  TRACEPULSE_LOKI_TOKEN?: string;
  TRACEPULSE_LOKI_SELECTOR?: string;
  TRACEPULSE_LOKI_SERVICE_LABEL?: string;
  TRACEPULSE_ELASTICSEARCH_URL?: string;
  TRACEPULSE_ELASTICSEARCH_INDEX: string;
  TRACEPULSE_ELASTICSEARCH_API_KEY?: string;
  TRACEPULSE_ELASTICSEARCH_TIMESTAMP_FIELD: string;
  TRACEPULSE_ELASTICSEARCH_SERVICE_FIELD: string;
  TRACEPULSE_ELASTICSEARCH_LEVEL_FIELD: string;
  TRACEPULSE_ELASTICSEARCH_MESSAGE_FIELD: string;
  TRACEPULSE_ELASTICSEARCH_CORRELATION_FIELDS: string[];
  TRACEPULSE_ELASTICSEARCH_TIEBREAKER_FIELD?: string;
}

/** Elasticsearch's connection settings from the configuration; null when it is not configured. */
export function elasticsearchOptions(config: LogSourceSettings): ElasticsearchOptions | null {
  if (!config.TRACEPULSE_ELASTICSEARCH_URL) return null;
  return {
    url: config.TRACEPULSE_ELASTICSEARCH_URL,
    index: config.TRACEPULSE_ELASTICSEARCH_INDEX,
    apiKey: config.TRACEPULSE_ELASTICSEARCH_API_KEY,
    fields: {
      timestamp: config.TRACEPULSE_ELASTICSEARCH_TIMESTAMP_FIELD,
      service: config.TRACEPULSE_ELASTICSEARCH_SERVICE_FIELD,
      level: config.TRACEPULSE_ELASTICSEARCH_LEVEL_FIELD,
      message: config.TRACEPULSE_ELASTICSEARCH_MESSAGE_FIELD,
      correlation: config.TRACEPULSE_ELASTICSEARCH_CORRELATION_FIELDS,
    },
    tiebreaker: config.TRACEPULSE_ELASTICSEARCH_TIEBREAKER_FIELD,
  };
}

/** Loki's connection settings from the configuration; null when Loki is not configured. */
export function lokiOptions(config: LogSourceSettings, stationId: string): LokiOptions | null {
  if (!config.TRACEPULSE_LOKI_URL) return null;
  return {
    url: config.TRACEPULSE_LOKI_URL,
    tenant: config.TRACEPULSE_LOKI_TENANT,
    token: config.TRACEPULSE_LOKI_TOKEN,
    selector: config.TRACEPULSE_LOKI_SELECTOR ?? `{station=${JSON.stringify(stationId)}}`,
    serviceLabel: config.TRACEPULSE_LOKI_SERVICE_LABEL,
  };
}

/**
 * The trigger-time log sources the configuration turns on, each imported only when configured
 * (a gateway with no source pays nothing for them).
 */
export async function createLogSources(config: LogSourceSettings, stationId: string): Promise<LogSource[]> {
  const sources: LogSource[] = [];
  const loki = lokiOptions(config, stationId);
  if (loki) {
    const { createLokiSource } = await import('./loki.ts');
    sources.push(createLokiSource(loki));
  }
  const es = elasticsearchOptions(config);
  if (es) {
    const { createElasticsearchSource } = await import('./elasticsearch.ts');
    sources.push(createElasticsearchSource(es));
  }
  return sources;
}
