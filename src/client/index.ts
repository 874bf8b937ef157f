// The client library's public surface.
export { Client, isReadOnly, type CallOptions, type ClientOptions, type DeleteOptions, type GetOptions, type PutOptions, type Result } from './client.js';
export { FROM_KEY_END, keyRange, prefixEnd, toBytes, type Bytes, type RangeShape } from './keys.js';
export type { WatchBatch, WatchOptions } from './watch.js';
export { WsConnection, WsStream, type WsCallOptions, type WsConnectionOptions } from './ws-connection.js';
