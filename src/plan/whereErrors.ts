import postgres from 'postgres';
import { InputError } from '../errors.ts';

// What a `where` fragment itself can get wrong: class 42 (a syntax error; an unknown column, table
// or function; mismatched types) and class 22 (data exceptions: `id = 'abc'`, division by zero).
// Anything else, a lost connection above all, is not the fragment's doing and passes through.
const fragmentFault = /^(42|22)[0-9A-Z]{3}$/;

/**
 * Passes a plan that has a `where` through, turning an error the fragment caused into one
 * InputError line. The planner's other queries are fixed, and the table and key are checked
 * before the walk, so such an error is the fragment's.
 */
export async function* blameWhere<T>(describe: string, plan: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* plan;
  } catch (error) {
    if (error instanceof postgres.PostgresError && fragmentFault.test(error.code)) {
      throw new InputError(`The \`where\` of ${describe} failed: ${error.message}`);
    }
    throw error;
  }
}
