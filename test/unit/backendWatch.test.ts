/**
 * Who keeps a polling backend (ModelArts) polling: BackendRegistry.watch() holds a watch on every
 * polling backend, those added later too, until the last holder lets go; an API listener is one.
 */
import * as assert from 'node:assert/strict';
import { BackendRegistry } from '../../src/backends/backendRegistry';
import { toDisposable } from '../../src/core/events';
import { MemoryBackend } from '../support/memoryBackend';

/** A backend that counts the watches held on it. */
function pollingBackend(id: string) {
  const backend = new MemoryBackend({ id });
  const held = { count: 0 };
  Object.assign(backend, { polling: { watch: () => (held.count++, toDisposable(() => held.count--)) } });
  return { backend, held };
}

describe('watching polling backends', function () {
  it('watches every polling backend while anyone holds the registry\'s watch, later ones too, and lets go with the last', function () {
    const registry = new BackendRegistry();
    const a = pollingBackend('a');
    registry.add(a.backend);
    registry.add(new MemoryBackend({ id: 'pushing' }));
    assert.equal(a.held.count, 0, 'nothing watches: no poll');
    const view = registry.watch();
    const panel = registry.watch();
    assert.equal(a.held.count, 1, 'one watch per backend, however many hold the registry\'s');
    const b = pollingBackend('b');
    const removeB = registry.add(b.backend);
    assert.equal(b.held.count, 1, 'a backend added while watched is watched');
    view.dispose();
    view.dispose();
    assert.equal(a.held.count, 1, 'still held by the other (a second dispose changes nothing)');
    panel.dispose();
    assert.deepEqual([a.held.count, b.held.count], [0, 0], 'the last one let go');
    registry.watch();
    removeB.dispose();
    assert.equal(b.held.count, 0, 'a removed backend is not watched any longer');
    registry.dispose();
    assert.equal(a.held.count, 0);
  });

  it('counts an event\'s listeners as watchers (the public API\'s onDidChange)', function () {
    const registry = new BackendRegistry();
    const a = pollingBackend('a');
    registry.add(a.backend);
    const event = registry.watchedBy(registry.onDidChangeJob);
    const listening = event(() => undefined);
    assert.equal(a.held.count, 1);
    listening.dispose();
    assert.equal(a.held.count, 0);
    registry.dispose();
  });
});
