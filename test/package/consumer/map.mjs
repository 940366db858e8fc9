// The library from plain Node, no loader: parallelMap, and the other names users import.
import { defineJob, parallelMap, runJob, Store, upsert } from 'sluice';

const names = { defineJob, runJob, Store, upsert };
for (const [name, value] of Object.entries(names)) {
  if (typeof value !== 'function') throw new Error(`${name} is ${typeof value}`);
}
const squares = await parallelMap(async (n) => n * n, [1, 2, 3, 4, 5], {
  maxParallelism: 2,
  ordered: true,
}).toArray();
console.log(JSON.stringify(squares.map((r) => (r.ok ? r.value : r.error.message))));
