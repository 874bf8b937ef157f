// The network between the members of a jepsen-like cluster: TCP proxies the harness puts on every member-to-member
// link, so that it can cut and heal links without touching the members. Faults go in outside the code under test.
//
// Why one proxy in front of each member rather than one per ordered pair of ports. A member's ID is derived from
// its advertised peer URLs (src/server/ids.ts), every member publishes its own URLs through the log, and the others
// then dial exactly those URLs: every member must see the same peer URL for a given peer, so the harness cannot hand
// each dialer its own URL for the link. Instead each member listens on a hidden port and advertises its front door,
// a proxy the harness owns. Every connection a member dials to a peer names the dialer in its WebSocket upgrade
// (the `conclave-from` header, src/transport/handshake.ts), and the transport writes Raft messages only on the
// connections it dials (the listener only reads them), so a connection through B's front door that names A carries
// exactly the messages of the ordered link A -> B. The front door reads that header, then relays bytes both ways
// untouched; cutting A -> B ends A's connections through B's door and refuses new ones, and healing lets them in
// again (A redials on its own, with backoff). Both directions, or one, are cut independently.
//
// A connection that names no dialer (a member's plain HTTP question on the peer port, such as "am I still a
// member?") is let through only while nothing into that member is cut, so that no answer crosses a partition.

import { createServer, connect, type Server, type Socket } from 'node:net';

/** The most a front door reads looking for the end of the upgrade request's headers. */
const MAX_HEADER_BYTES = 16 * 1024;
const FROM_HEADER = /^conclave-from:[ \t]*([0-9a-f]{16})[ \t]*\r?$/im;

interface Relay {
  /** The dialer's member ID, or null for a connection that named none. */
  fromId: string | null;
  /** Its headers were read and it was let through. */
  admitted: boolean;
  readonly client: Socket;
  upstream: Socket | null;
}

export interface DoorStats {
  /** Connections relayed to the member. */
  readonly relayed: number;
  /** Connections refused because their link was cut. */
  readonly refused: number;
  /** Open connections ended by a cut. */
  readonly severed: number;
}

/** The proxy in front of one member's peer port. */
export class FrontDoor {
  private readonly relays = new Set<Relay>();
  private readonly blocked = new Set<string>();
  private counts = { relayed: 0, refused: 0, severed: 0 };

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly target: { readonly host: string; readonly port: number },
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on a free port of `host` and relays to `target`. */
  static async start(target: { readonly host: string; readonly port: number }, host = '127.0.0.1'): Promise<FrontDoor> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const { port } = server.address() as { port: number };
    return new FrontDoor(server, `http://${host}:${port}`, target);
  }

  get stats(): DoorStats {
    return { ...this.counts };
  }

  /** The dialers whose links into this member are cut. */
  get blockedIds(): readonly string[] {
    return [...this.blocked].sort();
  }

  /** Cuts the link from `fromId` into this member: its open connections end, new ones are refused. */
  block(fromId: string): void {
    this.blocked.add(fromId);
    for (const relay of this.relays) {
      if (relay.admitted && (relay.fromId === fromId || relay.fromId === null)) {
        this.counts.severed++;
        this.end(relay);
      }
    }
  }

  unblock(fromId: string): void {
    this.blocked.delete(fromId);
  }

  unblockAll(): void {
    this.blocked.clear();
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const relay of this.relays) this.end(relay);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private admits(fromId: string | null): boolean {
    return fromId === null ? this.blocked.size === 0 : !this.blocked.has(fromId);
  }

  private accept(client: Socket): void {
    const relay: Relay = { fromId: null, admitted: false, client, upstream: null };
    this.relays.add(relay);
    client.on('error', () => this.end(relay));
    client.on('close', () => this.end(relay));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < MAX_HEADER_BYTES) return;
      client.off('data', onData);
      client.pause();
      const headers = head.subarray(0, end < 0 ? head.length : end).toString('latin1');
      relay.fromId = FROM_HEADER.exec(headers)?.[1] ?? null;
      if (!this.admits(relay.fromId)) {
        this.counts.refused++;
        this.end(relay);
        return;
      }
      this.counts.relayed++;
      relay.admitted = true;
      this.relay(relay, head);
    };
    client.on('data', onData);
  }

  private relay(relay: Relay, head: Buffer): void {
    const upstream = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    relay.upstream = upstream;
    upstream.on('error', () => this.end(relay));
    upstream.on('close', () => this.end(relay));
    upstream.write(head);
    relay.client.pipe(upstream);
    upstream.pipe(relay.client);
    relay.client.resume();
  }

  private end(relay: Relay): void {
    if (!this.relays.delete(relay)) return;
    relay.client.destroy();
    relay.upstream?.destroy();
  }
}

/** Each member's front door, and which ordered links between members are cut. */
export class PeerNetwork {
  private readonly doors = new Map<string, FrontDoor>();
  /** member name -> member ID, for reading the dialer of a connection. */
  private readonly ids = new Map<string, string>();
  /** The counts of front doors renew() replaced, so that stats() still counts their connections. */
  private readonly retired: [string, DoorStats][] = [];

  /** Opens a front door for a member whose peer port is `peerPort` (on loopback); returns the URL it advertises. */
  async add(name: string, peerPort: number): Promise<string> {
    if (this.doors.has(name)) throw new Error(`member ${name} already has a front door`);
    const door = await FrontDoor.start({ host: '127.0.0.1', port: peerPort });
    this.doors.set(name, door);
    return door.url;
  }

  /**
   * Replaces a member's front door by a new one on a new URL (its open connections end), for a member added back
   * to the cluster as a new member: its old URL stays the removed member's in the others' transports and logs.
   * The new member's ID is set with setMemberId once the cluster has given it one.
   */
  async renew(name: string, peerPort: number): Promise<string> {
    const old = this.door(name);
    this.doors.delete(name);
    this.ids.delete(name);
    this.retired.push([name, old.stats]);
    await old.close();
    return this.add(name, peerPort);
  }

  /** The URL a member advertises to its peers: its front door. */
  urlOf(name: string): string {
    return this.door(name).url;
  }

  /** Tells the network each member's ID (what its connections name themselves by). */
  setMemberId(name: string, id: string): void {
    this.door(name);
    this.ids.set(name, id);
  }

  /** Messages from `from` to `to` are lost (the other direction is untouched). */
  cut(from: string, to: string): void {
    this.door(to).block(this.idOf(from));
  }

  heal(from: string, to: string): void {
    this.door(to).unblock(this.idOf(from));
  }

  /** Cuts every link between members of different groups, both ways; members in no group are left as they are. */
  partition(groups: readonly (readonly string[])[]): void {
    for (const [i, group] of groups.entries()) {
      for (const [j, other] of groups.entries()) {
        if (i === j) continue;
        for (const from of group) for (const to of other) this.cut(from, to);
      }
    }
  }

  /** Heals every link. */
  healAll(): void {
    for (const door of this.doors.values()) door.unblockAll();
  }

  /** The ordered links cut now, as [from, to] names. */
  cutLinks(): [string, string][] {
    const nameOf = new Map([...this.ids].map(([name, id]) => [id, name]));
    const links: [string, string][] = [];
    for (const [to, door] of this.doors) for (const id of door.blockedIds) links.push([nameOf.get(id) ?? id, to]);
    return links.sort();
  }

  stats(): Record<string, DoorStats> {
    const totals = new Map<string, DoorStats>([...this.doors].map(([name, door]) => [name, door.stats]));
    for (const [name, old] of this.retired) {
      const now = totals.get(name) ?? { relayed: 0, refused: 0, severed: 0 };
      totals.set(name, { relayed: now.relayed + old.relayed, refused: now.refused + old.refused, severed: now.severed + old.severed });
    }
    return Object.fromEntries(totals);
  }

  async close(): Promise<void> {
    await Promise.all([...this.doors.values()].map((door) => door.close()));
  }

  private door(name: string): FrontDoor {
    const door = this.doors.get(name);
    if (door === undefined) throw new Error(`no member named ${name} in the network`);
    return door;
  }

  private idOf(name: string): string {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`the network does not know member ${name}'s ID yet`);
    return id;
  }
}
