// Hand-built histories for the checkers' tests: `h.invoke(p, f, key, value)` then `h.ok(p, output)` /
// `h.fail(p)` / `h.info(p)`, in real-time order (each event one microsecond after the last).

import { HistoryRecorder, pairOperations, type HistoryEvent, type JsonScalar, type JsonValue, type Operation } from '../../jepsen-like/history.js';

export class HistoryBuilder {
  private readonly recorder = new HistoryRecorder(() => this.recorder.events.length * 1_000);

  invoke(process: number, f: string, key: JsonScalar, value: JsonValue = null): this {
    this.recorder.invoke(process, f, key, value);
    return this;
  }

  ok(process: number, output: JsonValue = null): this {
    this.recorder.complete(process, 'ok', output);
    return this;
  }

  fail(process: number): this {
    this.recorder.complete(process, 'fail', null);
    return this;
  }

  info(process: number, output: JsonValue = null): this {
    this.recorder.complete(process, 'info', output);
    return this;
  }

  /** An operation invoked and completed ok before anything else happens. */
  op(process: number, f: string, key: JsonScalar, value: JsonValue, output: JsonValue = null): this {
    return this.invoke(process, f, key, value).ok(process, output);
  }

  /** The events so far, as a history file holds them. */
  events(): readonly HistoryEvent[] {
    return this.recorder.events;
  }

  operations(): Operation[] {
    const paired = pairOperations(this.recorder.events);
    if (!paired.ok) throw new Error(paired.error.message);
    return paired.value;
  }
}
