// The shapes of the network nemeses as sets of ordered links [from, to]: which links a partition or a one-way
// partition cuts, and which a delay or a loss fault slows or thins. Pure functions of the members (already in the
// nemesis's seeded random order), the fault's target (a member or the leader) and the nemesis's generator, so that
// a test can check each shape's connectivity without a cluster.

import type { Rng } from '../test/sim/prng.js';
import { DEFAULT_RANDOM_LINK_PROBABILITY } from './limits.js';

export type Link = readonly [from: string, to: string];

/** Every ordered link between members of different groups (members in no group keep their links). */
export function linksBetween(groups: readonly (readonly string[])[]): Link[] {
  const links: Link[] = [];
  for (const [i, group] of groups.entries()) {
    for (const [j, other] of groups.entries()) {
      if (i === j) continue;
      for (const from of group) for (const to of other) links.push([from, to]);
    }
  }
  return sortLinks(links);
}

export function sortLinks(links: Link[]): Link[] {
  return links.sort(([a1, b1], [a2, b2]) => a1.localeCompare(a2) || b1.localeCompare(b2));
}

/** A random minority: 1 to floor((n - 1) / 2) members, at least one. */
export function minorityOf(names: readonly string[], rng: Rng): string[] {
  return names.slice(0, rng.int(1, Math.max(1, Math.floor((names.length - 1) / 2))));
}

export interface Cut {
  /** The sides, for a report to draw (a bridge's node is in both). */
  readonly groups: readonly (readonly string[])[];
  /** The members the shape is about: the smaller side, the bridge, the muted or deafened ones. */
  readonly nodes: readonly string[];
  readonly links: readonly Link[];
}

/**
 * Two halves that share one member, the bridge: it talks to both, the halves do not talk to each other. Not
 * transitive: the bridge is in a majority with either half, and each half's members can hear of a leader on the
 * other side only through it.
 */
export function bridge(names: readonly string[]): Cut {
  const [middle, ...rest] = names;
  const half = Math.floor(rest.length / 2);
  const [left, right] = [rest.slice(0, half), rest.slice(half)];
  return { groups: [[...left, middle!], [middle!, ...right]], nodes: [middle!], links: linksBetween([left, right]) };
}

/**
 * The members in a ring (in `names`' order), each reaching only its two neighbours: every other link is cut both
 * ways. With three members every pair is adjacent and nothing is cut; from five, no member reaches a majority
 * that reaches each other.
 */
export function ring(names: readonly string[]): Cut {
  const n = names.length;
  const links: Link[] = [];
  for (const [i, from] of names.entries()) {
    for (const [j, to] of names.entries()) {
      const apart = Math.abs(i - j);
      if (i !== j && apart !== 1 && apart !== n - 1) links.push([from, to]);
    }
  }
  return { groups: [[...names]], nodes: [], links: sortLinks(links) };
}

/** `speakers` cannot be heard by the others (their outgoing links are cut); they still hear everyone. */
export function mute(names: readonly string[], speakers: readonly string[]): Cut {
  const others = names.filter((name) => !speakers.includes(name));
  return { groups: [speakers, others], nodes: speakers, links: sortLinks(speakers.flatMap((from) => others.map((to): Link => [from, to]))) };
}

/** `listeners` hear no one (their incoming links are cut); they are still heard. */
export function deafen(names: readonly string[], listeners: readonly string[]): Cut {
  const others = names.filter((name) => !listeners.includes(name));
  return { groups: [listeners, others], nodes: listeners, links: sortLinks(others.flatMap((from) => listeners.map((to): Link => [from, to]))) };
}

/** The links out of `member`. */
export function outgoing(names: readonly string[], member: string): Link[] {
  return names.filter((name) => name !== member).map((to): Link => [member, to]);
}

/** The links out of and into `member`. */
export function around(names: readonly string[], member: string): Link[] {
  return sortLinks([...outgoing(names, member), ...names.filter((name) => name !== member).map((from): Link => [from, member])]);
}

/** Each ordered link with DEFAULT_RANDOM_LINK_PROBABILITY, and at least one. */
export function randomLinks(names: readonly string[], rng: Rng): Link[] {
  const all: Link[] = [];
  for (const from of names) for (const to of names) if (from !== to) all.push([from, to]);
  const chosen = all.filter(() => rng.chance(DEFAULT_RANDOM_LINK_PROBABILITY));
  return sortLinks(chosen.length > 0 ? chosen : all.length > 0 ? [rng.pick(all)] : []);
}
