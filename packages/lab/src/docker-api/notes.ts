/**
 * What Docker remembers about a network or an endpoint that the host's
 * records do not carry, kept by the Docker API in `<lab>/docker-api.json`:
 * whether a network's subnet and gateway were the user's (Docker shows no
 * gateway it chose itself in `IPAM.Config`, and allows `--ip` only on a
 * user-configured subnet), and an endpoint's `IPAMConfig` and `DriverOpts`
 * as `docker inspect` shows them. Networks made without this API (`lab
 * network create`) have no notes and are shown as the host has them.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface NetworkNote {
  userSubnet: boolean;
  userGateway: boolean;
}

export interface EndpointNote {
  /** `EndpointConfig.IPAMConfig` as given (the CLI sends `{}` without `--ip`). */
  ipamConfig?: { IPv4Address?: string };
  driverOpts?: Record<string, string>;
}

interface NotesFile {
  networks: Record<string, NetworkNote>;
  /** By `containerId/networkId`. */
  endpoints: Record<string, EndpointNote>;
}

export class DockerNotes {
  readonly #file: string;
  readonly #notes: NotesFile;

  constructor(file: string) {
    this.#file = file;
    this.#notes = { networks: {}, endpoints: {} };
    try {
      const loaded = JSON.parse(readFileSync(file, 'utf8')) as Partial<NotesFile>;
      Object.assign(this.#notes.networks, loaded.networks);
      Object.assign(this.#notes.endpoints, loaded.endpoints);
    } catch {
      // No notes yet (or unreadable ones: start afresh).
    }
  }

  network(id: string): NetworkNote | undefined {
    return this.#notes.networks[id];
  }

  setNetwork(id: string, note: NetworkNote | undefined): void {
    if (note === undefined) delete this.#notes.networks[id];
    else this.#notes.networks[id] = note;
    this.#save();
  }

  endpoint(containerId: string, networkId: string): EndpointNote | undefined {
    return this.#notes.endpoints[`${containerId}/${networkId}`];
  }

  setEndpoint(containerId: string, networkId: string, note: EndpointNote | undefined): void {
    const key = `${containerId}/${networkId}`;
    if (note === undefined) delete this.#notes.endpoints[key];
    else this.#notes.endpoints[key] = note;
    this.#save();
  }

  #save(): void {
    const temporary = `${this.#file}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.#notes), { mode: 0o600 });
    renameSync(temporary, this.#file);
  }
}
