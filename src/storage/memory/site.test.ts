import { testSiteStore } from '../conformance/site.ts';
import { type MemorySiteState, MemorySiteStore, newMemorySiteState } from './site.ts';

const states = new Map<string, MemorySiteState>();
let n = 0;

testSiteStore(
  'memory',
  async (name) => {
    let state = states.get(name);
    if (state === undefined) {
      state = newMemorySiteState();
      states.set(name, state);
    }
    return new MemorySiteStore(state);
  },
  () => `site-${n++}`,
);
