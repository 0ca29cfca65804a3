import { describe, expect, it } from 'vitest';
import { ChannelBus } from '../../src/bus/ChannelBus.js';
import type { GripFrame } from '../../src/grip/GripTransport.js';
import { FROM_START, type HistoryInput, type HistoryRecord, type HistoryStore, type Replay } from '../../src/history/HistoryStore.js';
import { LocalEngine } from '../../src/memory/LocalEngine.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { RecordingSubscriber } from '../support/recording-sink.js';

// LocalEngine on its own (src/memory/LocalEngine.ts): a publish is kept by the store, then
// delivered to the local bus, and its encoded events are handed out for GRIP. A real bus and
// store; the subscriber at the end records the frames the bus gives it instead of writing them
// to a socket (the write path has its own tests in test/bus/).

function busWith(...channels: string[]): { bus: ChannelBus; recorder: RecordingSubscriber } {
  const bus = new ChannelBus();
  const recorder = new RecordingSubscriber(channels);
  bus.add(recorder);
  return { bus, recorder };
}

describe('LocalEngine', () => {
  it('with the built-in store: keeps the batch, then delivers each event with its position as id, synchronously', () => {
    const { bus, recorder } = busWith('room');
    const history = new MemoryHistory();
    const engine = new LocalEngine(bus, history);
    const answer = engine.publish('room', [{ event: 'chat', data: '"hi"' }, { event: '', data: '2', id: 'mine' }], undefined);
    // The in-memory path answers at once: nothing to await.
    expect(answer).toBeUndefined();
    const kept = (history.readAfter(['room'], FROM_START) as Replay).records;
    expect(kept.map((record) => record.id)).toEqual([String(kept[0]!.seq), 'mine']);
    expect(recorder.frames.map((frame) => frame.seq)).toEqual(kept.map((record) => record.seq));
    expect(recorder.texts()).toEqual([`id: ${kept[0]!.seq}\nevent: chat\ndata: "hi"\n\n`, 'id: mine\ndata: 2\n\n']);
  });

  it('hands the encoded events and their prev-ids to GRIP when asked (collect)', () => {
    const { bus, recorder } = busWith('room');
    const engine = new LocalEngine(bus, new MemoryHistory());
    const collect: GripFrame[] = [];
    engine.publish('room', [{ event: 'a', data: '1', id: 'one' }], collect);
    engine.publish('room', [{ event: 'b', data: '2', id: 'two' }], collect);
    expect(collect).toEqual([
      { content: 'id: one\nevent: a\ndata: 1\n\n', id: 'one', prevId: undefined },
      { content: 'id: two\nevent: b\ndata: 2\n\n', id: 'two', prevId: 'one' },
    ]);
    expect(recorder.texts()).toEqual(collect.map((frame) => frame.content));
  });

  it('without history: delivers the events as given, with no position', () => {
    const { bus, recorder } = busWith('room', 'other');
    const engine = new LocalEngine(bus, undefined);
    engine.publish('room', [{ event: 'x', data: 'y', id: '7' }], undefined);
    expect(recorder.texts()).toEqual(['id: 7\nevent: x\ndata: y\n\n']);
    expect(recorder.frames[0]!.seq).toBeUndefined();
  });

  it("with another store: delivers only once the store's append resolved, in the store's ids", async () => {
    const { bus, recorder } = busWith('room');
    let keep: (records: HistoryRecord[]) => void = () => undefined;
    const store: HistoryStore = {
      append: (channel: string, events: readonly HistoryInput[]) =>
        new Promise<HistoryRecord[]>((resolve) => {
          keep = () => resolve(events.map((event, i) => ({ seq: 10 + i, id: `s${10 + i}`, channel, event: event.event, data: event.data })));
        }),
      readAfter: () => ({ records: [], complete: true }),
    };
    const engine = new LocalEngine(bus, store);
    const answer = engine.publish('room', [{ event: 'e', data: 'd' }], undefined);
    expect(answer).toBeInstanceOf(Promise);
    expect(recorder.frames).toEqual([]);
    keep([]);
    await answer;
    expect(recorder.texts()).toEqual(['id: s10\nevent: e\ndata: d\n\n']);
    expect(recorder.frames[0]!.seq).toBe(10);
  });

  it('delivers only to the subscribers of the channel published to', () => {
    const bus = new ChannelBus();
    const room = new RecordingSubscriber(['room']);
    const other = new RecordingSubscriber(['other']);
    bus.add(room);
    bus.add(other);
    new LocalEngine(bus, new MemoryHistory()).publish('room', [{ event: '', data: 'x' }], undefined);
    expect(room.frames).toHaveLength(1);
    expect(other.frames).toHaveLength(0);
  });
});
