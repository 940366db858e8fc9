// A TypeScript job in a project with "type": "module": compiled as an ES module.
import { chunks, defineJob } from 'sluice';

export default defineJob({
  name: 'consumer-esm-ts',
  source: chunks(['x', 'y', 'z'], 2),
  async each(item) {
    return `${item}!`;
  },
});
