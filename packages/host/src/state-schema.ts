/**
 * The state database's tables, and the rows read back as the records of
 * state.ts (SQLite's snake_case columns to the library's camelCase fields).
 */
import type {
  AttachmentRecord,
  AttachmentStatus,
  ContainerRecord,
  NetworkRecord,
} from './state.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS networks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  subnet TEXT NOT NULL,
  gateway TEXT NOT NULL,
  ip_range TEXT NOT NULL DEFAULT '',
  internal INTEGER NOT NULL DEFAULT 0,
  mtu INTEGER NOT NULL DEFAULT 0,
  labels TEXT NOT NULL DEFAULT '{}',
  options TEXT NOT NULL DEFAULT '{}',
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  endpoint TEXT,
  running INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS attachments (
  container_id TEXT NOT NULL REFERENCES containers(id),
  network_id TEXT NOT NULL REFERENCES networks(id),
  device TEXT NOT NULL,
  port INTEGER UNIQUE,
  ip TEXT NOT NULL,
  prefix_length INTEGER NOT NULL DEFAULT 0,
  gateway TEXT NOT NULL DEFAULT '',
  mac TEXT NOT NULL,
  aliases TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'stopped', 'detaching')),
  seq INTEGER NOT NULL,
  gw_priority INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (container_id, network_id),
  UNIQUE (container_id, device),
  UNIQUE (network_id, ip)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export interface NetworkRow {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  ip_range: string;
  internal: number;
  mtu: number;
  labels: string;
  options: string;
  created: string;
  /** 'bridge' or 'overlay' (a column added after the first release: ALTER in state.ts). */
  driver?: string;
}
export interface ContainerRow {
  id: string;
  name: string;
  endpoint: string | null;
  running: number;
}
export interface AttachmentRow {
  container_id: string;
  network_id: string;
  device: string;
  port: number | null;
  ip: string;
  prefix_length: number;
  gateway: string;
  mac: string;
  aliases: string;
  status: AttachmentStatus;
  seq: number;
  gw_priority: number;
}

export const toNetwork = (r: NetworkRow): NetworkRecord => ({
  id: r.id,
  name: r.name,
  subnet: r.subnet,
  gateway: r.gateway,
  ipRange: r.ip_range,
  internal: r.internal !== 0,
  mtu: r.mtu,
  labels: JSON.parse(r.labels) as Record<string, string>,
  options: JSON.parse(r.options) as Record<string, string>,
  created: r.created,
  ...(r.driver === 'overlay' ? { driver: 'overlay' as const } : {}),
});
export const toContainer = (r: ContainerRow): ContainerRecord => ({
  id: r.id,
  name: r.name,
  endpoint: r.endpoint,
  running: r.running !== 0,
});
export const toAttachment = (r: AttachmentRow): AttachmentRecord => ({
  containerId: r.container_id,
  networkId: r.network_id,
  device: r.device,
  port: r.port,
  ip: r.ip,
  prefixLength: r.prefix_length,
  gateway: r.gateway,
  mac: r.mac,
  aliases: JSON.parse(r.aliases) as string[],
  status: r.status,
  seq: r.seq,
  gwPriority: r.gw_priority,
});
