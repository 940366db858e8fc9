// A plain JavaScript ES module job, run by child processes (`--executor process:2`): each value
// says whether a child process (one with an IPC channel to the coordinator) computed it.
import { chunks, defineJob } from 'sluice';

export default defineJob({
  name: 'consumer-mjs',
  source: chunks(['a', 'b', 'c', 'd', 'e', 'f'], 2),
  async each(item) {
    return {
      item: item.toUpperCase(),
      child: typeof process.send === 'function',
      pid: process.pid,
    };
  },
});
