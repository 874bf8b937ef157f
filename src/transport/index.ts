// The public surface of the peer transport.
export { PeerTransport, type PeerTransportOptions, type PeerStats, type ListenAddress, type TransportCounters } from './transport.js';
export { PeerFaults } from './faults.js';
export { TransportError, type TransportErrorCode } from './errors.js';
export type { Log, LogLevel } from './shared.js';
