/** Docker's Engine API (networks, lab containers) served by the lab host on `<lab>/docker.sock`. */
export { DockerApiError } from './errors.js';
export type { DockerBackend } from './networks.js';
export { API_VERSION, MIN_API_VERSION, serveDockerApi } from './server.js';
