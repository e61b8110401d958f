/**
 * The host's persisted desired state in SQLite (better-sqlite3): networks,
 * containers and attachments. The backend writes a row (with a `status`)
 * BEFORE it touches a VM, so a crash half-way leaves a row that reconcile can
 * finish or roll back. Everything here is synchronous and transactional.
 */
import Database from 'better-sqlite3';
import {
  type AttachmentRow,
  type ContainerRow,
  type NetworkRow,
  SCHEMA,
  toAttachment,
  toContainer,
  toNetwork,
} from './state-schema.js';

/** A network as the user created it. */
export interface NetworkRecord {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  /** Empty when the whole subnet is the pool. */
  ipRange: string;
  internal: boolean;
  /** 0 = default (1500). */
  mtu: number;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** ISO 8601 creation time. */
  created: string;
  /** 'overlay': a network of the whole cluster (docs/cluster.md); absent: this host's bridge network. */
  driver?: 'overlay';
}

/** A container the runtime registered. */
export interface ContainerRecord {
  id: string;
  name: string;
  /** `formatVmEndpoint` text of the forwarder's VM, or null when the runtime supplies it at run time (`fd`). */
  endpoint: string | null;
  running: boolean;
}

/**
 * Lifecycle of an attachment row:
 * - `pending`: written before connect's side effects; reconcile rolls it back.
 * - `ready`: helper, forwarder and relay are (meant to be) up.
 * - `stopped`: the container is not running; ip/mac/device are kept, the port is released.
 * - `detaching`: written before disconnect's side effects; reconcile finishes it.
 */
export type AttachmentStatus = 'pending' | 'ready' | 'stopped' | 'detaching';

/** One container interface on one network. */
export interface AttachmentRecord {
  containerId: string;
  networkId: string;
  /** `eth0`, `eth1`, … inside the container. */
  device: string;
  /** Container-side data port, null while stopped. */
  port: number | null;
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  aliases: string[];
  status: AttachmentStatus;
  /** Creation order. */
  seq: number;
  /** `--gw-priority`: the highest non-internal one carries the default route (0 when absent). */
  gwPriority?: number;
}

/** Fields of an attachment that may change after insert. */
export type AttachmentPatch = Partial<
  Pick<AttachmentRecord, 'port' | 'ip' | 'prefixLength' | 'gateway' | 'mac' | 'status' | 'device'>
>;

const patchColumns: Record<keyof AttachmentPatch, string> = {
  port: 'port',
  ip: 'ip',
  prefixLength: 'prefix_length',
  gateway: 'gateway',
  mac: 'mac',
  status: 'status',
  device: 'device',
};

/** The state database. One instance per daemon; close it on shutdown. */
export class StateStore {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens (creating when absent) the database at `path`; `':memory:'` for tests. */
  static open(path: string): StateStore {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    const columns = db.prepare('PRAGMA table_info(attachments)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'gw_priority')) {
      db.exec('ALTER TABLE attachments ADD COLUMN gw_priority INTEGER NOT NULL DEFAULT 0');
    }
    const networkColumns = db.prepare('PRAGMA table_info(networks)').all() as { name: string }[];
    if (!networkColumns.some((c) => c.name === 'driver')) {
      db.exec("ALTER TABLE networks ADD COLUMN driver TEXT NOT NULL DEFAULT 'bridge'");
    }
    return new StateStore(db);
  }

  /** Runs `fn` in one transaction (nested calls become savepoints); a throw rolls everything back. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // --- networks --------------------------------------------------------------

  insertNetwork(network: NetworkRecord): void {
    this.#db
      .prepare(
        `INSERT INTO networks (id, name, subnet, gateway, ip_range, internal, mtu, labels, options, created, driver)
         VALUES (@id, @name, @subnet, @gateway, @ipRange, @internal, @mtu, @labels, @options, @created, @driver)`,
      )
      .run({
        ...network,
        driver: network.driver ?? 'bridge',
        internal: network.internal ? 1 : 0,
        labels: JSON.stringify(network.labels),
        options: JSON.stringify(network.options),
      });
  }

  getNetwork(id: string): NetworkRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM networks WHERE id = ?').get(id) as
      | NetworkRow
      | undefined;
    return row && toNetwork(row);
  }

  /**
   * Docker's lookup order: exact id, exact name, then a unique id prefix.
   * Undefined when nothing (or more than one prefix match) is found.
   */
  findNetwork(idOrName: string): NetworkRecord | undefined {
    const exact = this.#db
      .prepare(
        'SELECT * FROM networks WHERE id = ? UNION ALL SELECT * FROM networks WHERE name = ?',
      )
      .all(idOrName, idOrName) as NetworkRow[];
    if (exact[0]) return toNetwork(exact[0]);
    if (idOrName.length === 0) return undefined;
    const prefixed = this.#db
      .prepare('SELECT * FROM networks WHERE substr(id, 1, length(?)) = ? LIMIT 2')
      .all(idOrName, idOrName) as NetworkRow[];
    return prefixed.length === 1 && prefixed[0] ? toNetwork(prefixed[0]) : undefined;
  }

  listNetworks(): NetworkRecord[] {
    return (
      this.#db.prepare('SELECT * FROM networks ORDER BY created, name').all() as NetworkRow[]
    ).map(toNetwork);
  }

  deleteNetwork(id: string): void {
    this.#db.prepare('DELETE FROM networks WHERE id = ?').run(id);
  }

  // --- containers ------------------------------------------------------------

  /** Inserts or updates a container (by id). */
  upsertContainer(container: ContainerRecord): void {
    this.#db
      .prepare(
        `INSERT INTO containers (id, name, endpoint, running) VALUES (@id, @name, @endpoint, @running)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, endpoint = excluded.endpoint, running = excluded.running`,
      )
      .run({ ...container, running: container.running ? 1 : 0 });
  }

  getContainer(id: string): ContainerRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as
      | ContainerRow
      | undefined;
    return row && toContainer(row);
  }

  /** Exact id, exact name (a leading `/` ignored, as Docker does), then a unique id prefix. */
  findContainer(idOrName: string): ContainerRecord | undefined {
    const name = idOrName.startsWith('/') ? idOrName.slice(1) : idOrName;
    const exact = this.#db
      .prepare(
        'SELECT * FROM containers WHERE id = ? UNION ALL SELECT * FROM containers WHERE name = ?',
      )
      .all(idOrName, name) as ContainerRow[];
    if (exact[0]) return toContainer(exact[0]);
    if (idOrName.length === 0) return undefined;
    const prefixed = this.#db
      .prepare('SELECT * FROM containers WHERE substr(id, 1, length(?)) = ? LIMIT 2')
      .all(idOrName, idOrName) as ContainerRow[];
    return prefixed.length === 1 && prefixed[0] ? toContainer(prefixed[0]) : undefined;
  }

  listContainers(): ContainerRecord[] {
    return (this.#db.prepare('SELECT * FROM containers ORDER BY name').all() as ContainerRow[]).map(
      toContainer,
    );
  }

  setContainerRunning(id: string, running: boolean): void {
    this.#db.prepare('UPDATE containers SET running = ? WHERE id = ?').run(running ? 1 : 0, id);
  }

  /** Deletes a container and its attachments. */
  deleteContainer(id: string): void {
    this.transaction(() => {
      this.#db.prepare('DELETE FROM attachments WHERE container_id = ?').run(id);
      this.#db.prepare('DELETE FROM containers WHERE id = ?').run(id);
    });
  }

  // --- attachments -----------------------------------------------------------

  /** Inserts an attachment; `seq` is assigned (one more than the highest so far) and returned. */
  insertAttachment(attachment: Omit<AttachmentRecord, 'seq'>): AttachmentRecord {
    const { next } = this.#db
      .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM attachments')
      .get() as { next: number };
    const record: AttachmentRecord = { ...attachment, seq: next };
    this.#db
      .prepare(
        `INSERT INTO attachments (container_id, network_id, device, port, ip, prefix_length, gateway, mac, aliases, status, seq, gw_priority)
         VALUES (@containerId, @networkId, @device, @port, @ip, @prefixLength, @gateway, @mac, @aliases, @status, @seq, @gwPriority)`,
      )
      .run({
        ...record,
        aliases: JSON.stringify(record.aliases),
        gwPriority: record.gwPriority ?? 0,
      });
    return record;
  }

  getAttachment(containerId: string, networkId: string): AttachmentRecord | undefined {
    const row = this.#db
      .prepare('SELECT * FROM attachments WHERE container_id = ? AND network_id = ?')
      .get(containerId, networkId) as AttachmentRow | undefined;
    return row && toAttachment(row);
  }

  /** Updates some fields of an attachment; returns the new record. */
  updateAttachment(
    containerId: string,
    networkId: string,
    patch: AttachmentPatch,
  ): AttachmentRecord {
    const keys = Object.keys(patch) as (keyof AttachmentPatch)[];
    if (keys.length > 0) {
      const sets = keys.map((k) => `${patchColumns[k]} = @${k}`).join(', ');
      const info = this.#db
        .prepare(
          `UPDATE attachments SET ${sets} WHERE container_id = @containerId AND network_id = @networkId`,
        )
        .run({ ...patch, containerId, networkId });
      if (info.changes !== 1) {
        throw new Error(`attachment ${containerId} on ${networkId} does not exist`);
      }
    }
    const record = this.getAttachment(containerId, networkId);
    if (!record) throw new Error(`attachment ${containerId} on ${networkId} does not exist`);
    return record;
  }

  deleteAttachment(containerId: string, networkId: string): void {
    this.#db
      .prepare('DELETE FROM attachments WHERE container_id = ? AND network_id = ?')
      .run(containerId, networkId);
  }

  /** The container's attachments in creation order. */
  attachmentsOfContainer(containerId: string): AttachmentRecord[] {
    return (
      this.#db
        .prepare('SELECT * FROM attachments WHERE container_id = ? ORDER BY seq')
        .all(containerId) as AttachmentRow[]
    ).map(toAttachment);
  }

  /** The network's attachments in creation order. */
  attachmentsOfNetwork(networkId: string): AttachmentRecord[] {
    return (
      this.#db
        .prepare('SELECT * FROM attachments WHERE network_id = ? ORDER BY seq')
        .all(networkId) as AttachmentRow[]
    ).map(toAttachment);
  }

  /** Sets (or with null deletes) a value of the `meta` table. */
  setMeta(key: string, value: string | null): void {
    if (value === null) this.#db.prepare('DELETE FROM meta WHERE key = ?').run(key);
    else this.#db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  /** Every `meta` value whose key starts with `prefix`, by key. */
  metaWithPrefix(prefix: string): Map<string, string> {
    const rows = this.#db
      .prepare('SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?')
      .all(prefix.length, prefix) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  /** Every attachment in creation order. */
  listAttachments(): AttachmentRecord[] {
    return (
      this.#db.prepare('SELECT * FROM attachments ORDER BY seq').all() as AttachmentRow[]
    ).map(toAttachment);
  }
}
