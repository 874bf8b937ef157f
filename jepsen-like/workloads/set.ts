// The set workload: concurrent clients add unique elements to a handful of sets, each element a key of its own
// (`jepsen/set/<set>/<element>`, so that an add is one put and never overwrites another), and after healing one
// linearizable range per set reads what is there (checkers/set.ts: every acknowledged element must be in it).
//   add   ok; fail when the client says it certainly was not applied; otherwise info (and a new process number)
//   read  ok with the set's elements, ascending; any error is fail, since a read changes nothing

import type { JsonScalar } from '../history.js';
import { ClientWorkload, type Worker } from './clients.js';

/** Where the sets live in the key space; history keys are the set names after it (s0, s1, ...). */
export const SET_KEY_PREFIX = 'jepsen/set/';

const decoder = new TextDecoder();

export class SetWorkload extends ClientWorkload {
  private nextElement = 1;

  get keys(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `s${i}`);
  }

  protected async step(worker: Worker): Promise<void> {
    const set = worker.rng.pick(this.keys);
    const element = this.nextElement++;
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'add', set, element);
    try {
      await worker.client.put(`${SET_KEY_PREFIX}${set}/${element}`, '', { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', element);
    } catch (error) {
      this.failed(worker, error, element);
    }
  }

  protected async finalRead(worker: Worker, set: string): Promise<boolean> {
    const { recorder, opTimeoutMs } = this.options;
    const prefix = `${SET_KEY_PREFIX}${set}/`;
    recorder.invoke(worker.process, 'read', set, null);
    try {
      const { response } = await worker.client.get(prefix, { prefix: true, keysOnly: true, timeoutMs: opTimeoutMs });
      const elements: JsonScalar[] = response.kvs.map((kv) => {
        const text = decoder.decode(kv.key).slice(prefix.length);
        const number = Number(text);
        return String(number) === text ? number : text;
      });
      this.complete(worker, 'ok', elements.sort((a, b) => Number(a) - Number(b)));
      return true;
    } catch {
      this.complete(worker, 'fail', null);
      return false;
    }
  }
}
