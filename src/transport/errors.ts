// Errors of the peer transport are values with stable codes, like those of the core and of storage. Only start()
// and setPeers() fail: sending never does (a slow or dead peer costs dropped messages, counted in stats()).

export type TransportErrorCode =
  /** A peer listen URL could not be bound (port taken, address not local, permission). */
  | 'ErrPeerListen'
  /** An option, a limit or a peer URL is malformed. */
  | 'ErrInvalidTransportOption';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'TransportError';
  }
}
