import type { Report } from '../core/report.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { IncidentSummary } from './report-reader.ts';

/** Channel ids: "all", "station:ID", "service:NAME", "incident:ID". */
export type ChannelId = string;

export interface Channel {
  id: ChannelId;
  label: string;
  group: 'reports' | 'incidents' | 'stations' | 'services';
  unread: number;
}

export const channelPath = (id: ChannelId): string => `/chat/c/${encodeURIComponent(id)}`;

/** The channels a report appears in: all, its station, the failing and the blamed service, its incident. */
export function channelsOf(r: Report, graph: SystemGraph): ChannelId[] {
  const out: ChannelId[] = ['all'];
  if (r.stationId) out.push(`station:${r.stationId}`);
  const failing = graph.resolve(r.service) ?? r.service;
  out.push(`service:${failing}`);
  const top = r.hypotheses[0]?.service;
  if (top && top !== failing) out.push(`service:${top}`);
  if (r.incidentId) out.push(`incident:${r.incidentId}`);
  return out;
}

/** Sidebar: every channel with its unread count (reports newer than the user's last visit, not opened). */
export function buildChannels(input: {
  reports: Report[];
  graph: SystemGraph;
  incidents: IncidentSummary[];
  stationIds: string[];
  seen: Map<ChannelId, number>;
  /** Seen time for channels never opened (the user's creation time). */
  defaultSeen: number;
  /** Reports whose thread the user has opened: unread in no channel. */
  read?: Set<string>;
}): Channel[] {
  const unread = new Map<ChannelId, number>();
  for (const r of input.reports) {
    if (input.read?.has(r.id)) continue;
    const at = Date.parse(r.createdAt);
    for (const c of channelsOf(r, input.graph))
      if (at > (input.seen.get(c) ?? input.defaultSeen)) unread.set(c, (unread.get(c) ?? 0) + 1);
  }
  const ch = (id: ChannelId, label: string, group: Channel['group']): Channel => ({
    id,
    label,
    group,
    unread: unread.get(id) ?? 0,
  });
  const stations = new Set(input.stationIds);
  for (const r of input.reports) if (r.stationId) stations.add(r.stationId);
  return [
    ch('all', 'all-reports', 'reports'),
    // Grouped storms only: every report opens an incident, most stay at one member.
    ...input.incidents
      .filter((i) => i.count > 1)
      .map((i) => ch(`incident:${i.id}`, `${i.service ?? 'storm'} ×${i.count}`, 'incidents')),
    ...[...stations].sort().map((s) => ch(`station:${s}`, s, 'stations')),
    ...[...input.graph.services.keys()].sort().map((s) => ch(`service:${s}`, s, 'services')),
  ];
}

/** Reports of one channel, newest first. */
export function reportsIn(channel: ChannelId, reports: Report[], graph: SystemGraph): Report[] {
  return reports.filter((r) => channelsOf(r, graph).includes(channel));
}

/** A readable title for a channel id. */
export function channelTitle(id: ChannelId): string {
  if (id === 'all') return 'all-reports';
  const [kind, ...rest] = id.split(':');
  const name = rest.join(':');
  return kind === 'incident' ? `incident-${name.slice(0, 8)}` : name;
}
