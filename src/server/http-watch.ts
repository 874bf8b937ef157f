// `POST /v3/watch` as etcd 3.4's gateway serves it: the body is a stream of WatchRequest JSON objects (usually one
// create request), the response a stream of lines, `{"result":{WatchResponse}}` each, for as long as the client
// keeps the call open. A request that cannot be read gets an `{"error":...}` line and changes nothing; the stream
// goes on. A request larger than serverLimits.maxRequestBytes ends the call, since nothing after it can be framed.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { serverLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import { encodeError } from '../protocol/json.js';
import { KeepAliveStream } from './keepalive-stream.js';
import type { Member } from './member.js';
import { lineBuffers } from './line-buffers.js';
import { TurnBuffer } from './turn-buffer.js';
import { WatchStream } from './watch-stream.js';

export function serveWatch(member: Member, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, ['content-type', 'application/json']);
  // Lines go out as they are written, not held back for a fuller packet.
  res.socket?.setNoDelay(true);
  // Lines written in one turn go out in one socket write (a revision reaches many watchers at once).
  const output = new TurnBuffer((chunks) => {
    if (res.writableEnded || res.destroyed) return;
    res.cork();
    // Once the socket has taken a piece, a pooled line buffer under it can be used again.
    for (const chunk of chunks) res.write(chunk, () => lineBuffers.give(chunk));
    res.uncork();
  });
  const stream = new WatchStream({
    hub: member.watches,
    header: (revision) => member.header(revision),
    write: (pieces) => output.append(pieces),
    queuedBytes: () => output.pendingBytes + res.writableLength,
  });
  readRequests(req, res, stream, () => output.flush());
  res.on('close', () => {
    output.discard();
    stream.close();
  });
}

/**
 * `POST /v3/lease/keepalive`: a stream of LeaseKeepAliveRequests in, a line per answer out. The call ends once the
 * client has ended its body and every renewal it sent is answered (a single request gets its single line).
 */
export function serveKeepAlive(member: Member, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, ['content-type', 'application/json']);
  res.socket?.setNoDelay(true);
  const stream = new KeepAliveStream({
    member,
    write: (text) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${text}\n`);
    },
    end: (error) => {
      if (!res.writableEnded) res.end(`${JSON.stringify({ error: encodeError(error) })}\n`);
      req.destroy();
    },
  });
  readRequests(req, res, stream, () => {});
  req.on('end', () => void stream.drained().then(() => res.end()));
  res.on('close', () => stream.close());
}

/** What a streaming call does with the requests of its body. */
interface RequestStream {
  handleText(text: string): void;
  refuse(error: ConclaveError): void;
  close(): void;
}

/**
 * Hands each JSON request of a streaming body to `stream`, as it arrives. A request past
 * serverLimits.maxRequestBytes is refused and ends the call (nothing after it can be framed); `flush` writes out
 * what the stream has queued before the call ends.
 */
function readRequests(req: IncomingMessage, res: ServerResponse, stream: RequestStream, flush: () => void): void {
  const splitter = new JsonSplitter(serverLimits.maxRequestBytes);
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    let texts: string[];
    try {
      texts = splitter.push(chunk);
    } catch (error) {
      stream.refuse(error as ConclaveError);
      stream.close();
      flush();
      res.end();
      req.destroy();
      return;
    }
    for (const text of texts) stream.handleText(text);
  });
}

/**
 * Splits a text stream into top-level JSON values (objects, as WatchRequests are), whatever whitespace or newlines
 * separate them, as Go's json.Decoder reads grpc-gateway's streamed requests. A value longer than `maxBytes` is
 * refused with ErrRequestTooLarge. Text that is not an object is handed on as it is, for the decoder to refuse.
 */
export class JsonSplitter {
  private buffer = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Where in `buffer` the scan goes on. */
  private scanned = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: string): string[] {
    this.buffer += chunk;
    const values: string[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 0) {
            values.push(this.buffer.slice(start, i + 1));
            start = i + 1;
          }
        }
        continue;
      }
      if (this.depth === 0 && (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) {
        if (start === i) start = i + 1;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) this.depth--;
      if (this.depth <= 0 && (c === 0x7d || c === 0x5d || this.isScalarEnd(i))) {
        values.push(this.buffer.slice(start, i + 1));
        this.depth = 0;
        start = i + 1;
      }
    }
    this.buffer = this.buffer.slice(start);
    this.scanned = this.buffer.length;
    if (Buffer.byteLength(this.buffer) > this.maxBytes) {
      throw new ConclaveError('ErrRequestTooLarge', `a watch request of more than serverLimits.maxRequestBytes (${this.maxBytes}) bytes`);
    }
    return values;
  }

  /** A top-level value that is not an object or array ends at the next whitespace (it is refused later anyway). */
  private isScalarEnd(i: number): boolean {
    if (this.depth !== 0) return false;
    const next = this.buffer.charCodeAt(i + 1);
    return next === 0x20 || next === 0x0a || next === 0x0d || next === 0x09;
  }
}
