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
// Link faults short of a cut (link-shaper.ts): a link may be given added latency or loss of whole WebSocket frames.
// The door reads every connection that names a dialer as WebSocket frames in both directions (ws-frames.ts), and
// a fault on the link A -> B shapes both directions of A's connections through B's door: A's messages, and the
// control frames B answers them with. B's messages to A ride B's own connections and are untouched.
//
// A connection that names no dialer (a member's plain HTTP question on the peer port, such as "am I still a
// member?") is let through only while nothing into that member is cut, so that no answer crosses a partition.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { DEFAULT_MAX_DELAYED_BYTES_PER_DIRECTION } from './limits.js';
import { LinkShaper, type LinkFault, type ShapeCounts } from './link-shaper.js';

/** The most a front door reads looking for the end of the upgrade request's headers. */
const MAX_HEADER_BYTES = 16 * 1024;
/**
 * The dialer, as a Conclave member names itself on its peer connections and on its calls to another member's client
 * URL (leader relays), or as an etcd member does on its peer requests (rafthttp's X-Server-From, hex without
 * leading zeros).
 */
const FROM_HEADER = /^(?:conclave-from|x-server-from):[ \t]*([0-9a-f]{1,16})[ \t]*\r?$/im;

const WEBSOCKET_UPGRADE = /^upgrade:[ \t]*websocket[ \t]*\r?$/im;

/** A member ID as the network keys it: 16 lowercase hex digits. */
export const normalizeMemberId = (hex: string): string => hex.toLowerCase().padStart(16, '0');

interface Relay {
  /** The dialer's member ID, or null for a connection that named none. */
  fromId: string | null;
  /** Its request is a WebSocket upgrade, so its bytes after the headers are frames. */
  websocket: boolean;
  /** Its headers were read and it was let through. */
  admitted: boolean;
  readonly client: Socket;
  upstream: Socket | null;
  readonly shapers: LinkShaper[];
}

export interface DoorStats {
  /** Connections relayed to the member. */
  readonly relayed: number;
  /** Connections refused because their link was cut. */
  readonly refused: number;
  /** Open connections ended by a cut. */
  readonly severed: number;
  /** WebSocket data frames dropped by a lossy link, and frames held back by a delayed one. */
  readonly framesDropped: number;
  readonly framesDelayed: number;
}

/** The proxy in front of one member's peer port. */
export class FrontDoor {
  private readonly relays = new Set<Relay>();
  private readonly blocked = new Set<string>();
  private readonly faults = new Map<string, LinkFault>();
  private counts = { relayed: 0, refused: 0, severed: 0 };
  private readonly shapeCounts: ShapeCounts = { framesDropped: 0, framesDelayed: 0 };

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly target: { readonly host: string; readonly port: number },
    private readonly random: () => number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on a free port of `host` and relays to `target`. */
  static async start(target: { readonly host: string; readonly port: number }, host = '127.0.0.1', random: () => number = Math.random): Promise<FrontDoor> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const { port } = server.address() as { port: number };
    return new FrontDoor(server, `http://${host}:${port}`, target, random);
  }

  get stats(): DoorStats {
    return { ...this.counts, ...this.shapeCounts };
  }

  /** The dialers whose links into this member are delayed or lossy, with their faults. */
  get faultedIds(): readonly [string, LinkFault][] {
    return [...this.faults].sort(([a], [b]) => a.localeCompare(b));
  }

  /** Delays or loses what `fromId`'s connections carry, from now on, open connections included. */
  setFault(fromId: string, fault: LinkFault): void {
    this.faults.set(fromId, fault);
  }

  clearFault(fromId: string): void {
    this.faults.delete(fromId);
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

  /** Heals every link into this member: cuts and faults. */
  unblockAll(): void {
    this.blocked.clear();
    this.faults.clear();
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
    const relay: Relay = { fromId: null, websocket: false, admitted: false, client, upstream: null, shapers: [] };
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
      const named = FROM_HEADER.exec(headers)?.[1];
      relay.fromId = named === undefined ? null : normalizeMemberId(named);
      relay.websocket = WEBSOCKET_UPGRADE.test(headers);
      if (!this.admits(relay.fromId)) {
        this.counts.refused++;
        this.end(relay);
        return;
      }
      this.counts.relayed++;
      relay.admitted = true;
      this.relay(relay, head, end < 0 ? head.length : end + 4);
    };
    client.on('data', onData);
  }

  private relay(relay: Relay, head: Buffer, headBytes: number): void {
    const upstream = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    relay.upstream = upstream;
    upstream.on('error', () => this.end(relay));
    upstream.on('close', () => this.end(relay));
    const fromId = relay.fromId;
    // Only a WebSocket connection (a Conclave member's peer link) is read as frames and shaped; a member's plain HTTP
    // calls through a client door, and etcd's peer requests, are relayed untouched (a cut still ends them).
    if (fromId === null || !relay.websocket) {
      upstream.write(head);
      relay.client.pipe(upstream);
      upstream.pipe(relay.client);
    } else {
      upstream.write(head.subarray(0, headBytes));
      const inward = this.shape(relay, fromId, relay.client, upstream, false);
      this.shape(relay, fromId, upstream, relay.client, true);
      inward.push(head.subarray(headBytes));
    }
    relay.client.resume();
  }

  /** Relays `from` to `to` through a shaper of the link's fault, with backpressure from both `to` and the delay. */
  private shape(relay: Relay, fromId: string, from: Socket, to: Socket, httpHead: boolean): LinkShaper {
    let backlogged = false;
    const resumeIfClear = () => {
      if (!backlogged && !to.writableNeedDrain) from.resume();
    };
    const shaper = new LinkShaper({
      write: (bytes) => {
        if (!to.destroyed && !to.write(bytes)) from.pause();
      },
      fault: () => this.faults.get(fromId) ?? null,
      random: this.random,
      counts: this.shapeCounts,
      httpHead,
      maxDelayedBytes: DEFAULT_MAX_DELAYED_BYTES_PER_DIRECTION,
      onBacklog: (over) => {
        backlogged = over;
        if (over) from.pause();
        else resumeIfClear();
      },
    });
    relay.shapers.push(shaper);
    from.on('data', (chunk: Buffer) => shaper.push(chunk));
    to.on('drain', resumeIfClear);
    return shaper;
  }

  private end(relay: Relay): void {
    if (!this.relays.delete(relay)) return;
    for (const shaper of relay.shapers) shaper.close();
    relay.client.destroy();
    relay.upstream?.destroy();
  }
}

/**
 * Each member's front doors, and which ordered links between members are cut. A member has a door on its peer port
 * and, when the cluster asks for one, on the client URL it advertises: members call each other there too (a
 * follower relays lease renewals and membership changes to the leader's client URL), and a cut link must stop those
 * calls as well. The harness's own clients use the members' listening client URLs, which no door fronts.
 */
export class PeerNetwork {
  private readonly doors = new Map<string, FrontDoor>();
  private readonly clientDoors = new Map<string, FrontDoor>();
  /** member name -> member ID, for reading the dialer of a connection. */
  private readonly ids = new Map<string, string>();
  /** The counts of front doors renew() replaced, so that stats() still counts their connections. */
  private readonly retired: [string, DoorStats][] = [];

  /** `random` draws the doors' loss and jitter (seed it for a reproducible choice of which frames go missing). */
  constructor(private readonly random: () => number = Math.random) {}

  /** Opens a front door for a member whose peer port is `peerPort` (on loopback); returns the URL it advertises. */
  async add(name: string, peerPort: number): Promise<string> {
    if (this.doors.has(name)) throw new Error(`member ${name} already has a front door`);
    const door = await FrontDoor.start({ host: '127.0.0.1', port: peerPort }, '127.0.0.1', this.random);
    this.doors.set(name, door);
    return door.url;
  }

  /** Opens the door on a member's client port (on loopback); returns the client URL it advertises. */
  async addClientDoor(name: string, clientPort: number): Promise<string> {
    if (this.clientDoors.has(name)) throw new Error(`member ${name} already has a client front door`);
    const door = await FrontDoor.start({ host: '127.0.0.1', port: clientPort });
    this.clientDoors.set(name, door);
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
    const id = this.idOf(from);
    for (const door of this.doorsOf(to)) door.block(id);
  }

  heal(from: string, to: string): void {
    const id = this.idOf(from);
    for (const door of this.doorsOf(to)) door.unblock(id);
  }

  /** Messages from `from` to `to` are delayed or lost (link-shaper.ts) until healed; the other direction is untouched. */
  setFault(from: string, to: string, fault: LinkFault): void {
    this.door(to).setFault(this.idOf(from), fault);
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

  /** Heals every link: cuts and faults. */
  healAll(): void {
    for (const door of [...this.doors.values(), ...this.clientDoors.values()]) door.unblockAll();
  }

  /** The ordered links cut now, as [from, to] names. */
  cutLinks(): [string, string][] {
    const nameOf = new Map([...this.ids].map(([name, id]) => [id, name]));
    const links: [string, string][] = [];
    for (const [to, door] of this.doors) for (const id of door.blockedIds) links.push([nameOf.get(id) ?? id, to]);
    return links.sort();
  }

  /** The ordered links delayed or lossy now, as [from, to] names with their faults. */
  faultedLinks(): [string, string, LinkFault][] {
    const nameOf = new Map([...this.ids].map(([name, id]) => [id, name]));
    const links: [string, string, LinkFault][] = [];
    for (const [to, door] of this.doors) for (const [id, fault] of door.faultedIds) links.push([nameOf.get(id) ?? id, to, fault]);
    return links.sort(([a1, b1], [a2, b2]) => a1.localeCompare(a2) || b1.localeCompare(b2));
  }

  /** Per door: the peer door by the member's name, its client door as NAME/client. */
  stats(): Record<string, DoorStats> {
    const totals = new Map<string, DoorStats>([...this.doors].map(([name, door]) => [name, door.stats]));
    for (const [name, old] of this.retired) {
      const now = totals.get(name) ?? { relayed: 0, refused: 0, severed: 0, framesDropped: 0, framesDelayed: 0 };
      totals.set(name, {
        relayed: now.relayed + old.relayed,
        refused: now.refused + old.refused,
        severed: now.severed + old.severed,
        framesDropped: now.framesDropped + old.framesDropped,
        framesDelayed: now.framesDelayed + old.framesDelayed,
      });
    }
    for (const [name, door] of this.clientDoors) totals.set(`${name}/client`, door.stats);
    return Object.fromEntries(totals);
  }

  async close(): Promise<void> {
    await Promise.all([...this.doors.values(), ...this.clientDoors.values()].map((door) => door.close()));
  }

  private doorsOf(name: string): FrontDoor[] {
    const client = this.clientDoors.get(name);
    return client === undefined ? [this.door(name)] : [this.door(name), client];
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
