import { hardenPrototypes } from '../../src/lib/harden.js';

// The suite runs as the bridge runs (src/cli/index.ts hardens the process before anything else).
hardenPrototypes();
