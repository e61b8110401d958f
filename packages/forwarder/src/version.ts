/** The forwarder's version, reported by GetStatus. */
export const FORWARDER_VERSION = '0.1.0';
