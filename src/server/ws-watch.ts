// A WebSocket to `/v3/watch` (and `/v3/lease/keepalive`, below), as etcd's gateway serves it through its websocket proxy: each text frame in is one
// WatchRequest's JSON, each frame out one `{"result":WatchResponse}` (or `{"error":...}` for a request that
// cannot be read: the connection stays usable). Frames over serverLimits.maxRequestBytes close the connection
// (1009), binary frames get an error frame. What is queued toward the client (the socket's bufferedAmount) is
// the stream's back-pressure: past watchLimits.maxStreamPendingBytes its watches are cancelled as too slow.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { serverLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import { KeepAliveStream } from './keepalive-stream.js';
import type { Member } from './member.js';
import { WatchStream } from './watch-stream.js';

export class WatchSockets {
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: true, perMessageDeflate: false, maxPayload: serverLimits.maxRequestBytes });

  constructor(private readonly member: Member) {}

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws));
  }

  /** A WebSocket to /v3/lease/keepalive: LeaseKeepAliveRequest text frames in, `{"result":...}` frames out. */
  upgradeKeepAlive(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = new KeepAliveStream({
        member: this.member,
        write: (text) => {
          if (ws.readyState === ws.OPEN) ws.send(text, { binary: false });
        },
        end: (error) => ws.close(1008, error.message.slice(0, 120)),
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) stream.refuse(new ConclaveError('ErrInvalidJson', 'a binary frame: send each LeaseKeepAliveRequest as a text frame of JSON'));
        else stream.handleText(rawText(data));
      });
      ws.on('close', () => stream.close());
      ws.on('error', () => stream.close());
    });
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private serve(ws: WebSocket): void {
    const member = this.member;
    const stream = new WatchStream({
      hub: member.watches,
      header: (revision) => member.header(revision),
      write: (pieces) => {
        if (ws.readyState !== ws.OPEN) return;
        // A frame per line, without the line's newline (JSON text holds no raw newline, so each one ends a line).
        const lines = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
        for (let start = 0, end = lines.indexOf(0x0a); end >= 0; start = end + 1, end = lines.indexOf(0x0a, start)) {
          ws.send(lines.subarray(start, end), { binary: false });
        }
      },
      queuedBytes: () => ws.bufferedAmount,
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) stream.refuse(new ConclaveError('ErrInvalidJson', 'a binary frame: send each WatchRequest as a text frame of JSON'));
      else stream.handleText(rawText(data));
    });
    ws.on('close', () => stream.close());
    ws.on('error', () => stream.close());
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
