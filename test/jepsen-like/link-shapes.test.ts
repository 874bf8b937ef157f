// The network nemeses' shapes as cut links: a bridge's member reaches both halves that do not reach each other, a
// ring leaves each member its two neighbours, one-way shapes cut one direction only; and the --nemesis list picks
// kinds and shapes.

import { describe, expect, it } from 'vitest';
import { Rng } from '../sim/prng.js';
import { around, bridge, deafen, linksBetween, minorityOf, mute, outgoing, randomLinks, ring, type Link } from '../../jepsen-like/link-shapes.js';
import { NEMESIS_KINDS, nemesisSelection } from '../../jepsen-like/nemesis.js';

const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** Who `from` can still send to, once `links` are cut. */
function reaches(names: readonly string[], links: readonly Link[], from: string): string[] {
  return names.filter((to) => to !== from && !links.some(([a, b]) => a === from && b === to));
}

describe('network shapes', () => {
  it('bridge: the shared member talks to everyone, the halves only to their own side and the bridge, both ways', () => {
    const { groups, nodes, links } = bridge(FIVE);
    expect(nodes).toEqual(['n1']);
    expect(groups).toEqual([['n2', 'n3', 'n1'], ['n1', 'n4', 'n5']]);
    expect(reaches(FIVE, links, 'n1')).toEqual(['n2', 'n3', 'n4', 'n5']);
    expect(links.filter(([from, to]) => from === 'n1' || to === 'n1')).toEqual([]);
    expect(reaches(FIVE, links, 'n2')).toEqual(['n1', 'n3']);
    expect(reaches(FIVE, links, 'n5')).toEqual(['n1', 'n4']);
    // With three members: the bridge and one on each side, who do not reach each other.
    expect(bridge(['a', 'b', 'c']).links).toEqual([['b', 'c'], ['c', 'b']]);
  });

  it('ring: each of five members reaches exactly its two neighbours in the given order; three members lose nothing', () => {
    const order = ['n3', 'n1', 'n5', 'n2', 'n4'];
    const { links } = ring(order);
    expect(reaches(FIVE, links, 'n3')).toEqual(['n1', 'n4']);
    expect(reaches(FIVE, links, 'n5')).toEqual(['n1', 'n2']);
    for (const name of FIVE) expect(reaches(FIVE, links, name)).toHaveLength(2);
    expect(links).toHaveLength(10);
    expect(ring(['a', 'b', 'c']).links).toEqual([]);
  });

  it('one-way: mute cuts only outgoing links, deafen only incoming', () => {
    const muted = mute(FIVE, ['n2', 'n4']);
    expect(reaches(FIVE, muted.links, 'n2')).toEqual(['n4']);
    expect(reaches(FIVE, muted.links, 'n1')).toEqual(['n2', 'n3', 'n4', 'n5']);
    expect(muted.links).toHaveLength(6);
    const deaf = deafen(FIVE, ['n3']);
    expect(reaches(FIVE, deaf.links, 'n3')).toEqual(['n1', 'n2', 'n4', 'n5']);
    expect(reaches(FIVE, deaf.links, 'n1')).toEqual(['n2', 'n4', 'n5']);
  });

  it('partitions cut both ways between groups; a minority is one or two of five; link sets are what they say', () => {
    expect(linksBetween([['a'], ['b', 'c']])).toEqual([['a', 'b'], ['a', 'c'], ['b', 'a'], ['c', 'a']]);
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) expect([1, 2]).toContain(minorityOf(FIVE, rng).length);
    expect(minorityOf(['a', 'b', 'c'], rng)).toEqual(['a']);
    expect(outgoing(['a', 'b', 'c'], 'b')).toEqual([['b', 'a'], ['b', 'c']]);
    expect(around(['a', 'b', 'c'], 'b')).toEqual([['a', 'b'], ['b', 'a'], ['b', 'c'], ['c', 'b']]);
    for (let i = 0; i < 50; i++) {
      const links = randomLinks(FIVE, rng);
      expect(links.length).toBeGreaterThan(0);
      for (const [from, to] of links) expect(from).not.toBe(to);
    }
  });
});

describe('nemesisSelection', () => {
  it('takes kinds with all their shapes, shapes alone with their kind, and names what it does not know', () => {
    expect(nemesisSelection(['bridge', 'ring', 'delay', 'loss'])).toEqual({ kinds: ['delay', 'loss', 'partition'], shapes: { partition: ['bridge', 'ring'] } });
    expect(nemesisSelection(['partition', 'bridge'])).toEqual({ kinds: ['partition'], shapes: {} });
    expect(nemesisSelection(['mute-leader', 'kill'])).toEqual({ kinds: ['kill', 'one-way'], shapes: { 'one-way': ['mute-leader'] } });
    expect(nemesisSelection(['flood', 'ring', 'drift'])).toEqual({ unknown: ['flood', 'drift'] });
    expect(NEMESIS_KINDS).toEqual(expect.arrayContaining(['partition', 'one-way', 'delay', 'loss', 'kill', 'pause']));
  });
});
