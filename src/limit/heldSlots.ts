interface Block {
  /** When the next unit of this block comes due. */
  next: number;
  intervalMs: number;
  units: number;
}

// Float dust from fractional costs must not leave a block alive with 1e-12 of a unit.
const epsilon = 1e-9;

/** The slots a limiter has reserved and not yet released, oldest first. */
export class HeldSlots {
  #blocks: Block[] = [];
  units = 0;

  add(startMs: number, intervalMs: number, units: number): void {
    this.#blocks.push({ next: startMs, intervalMs, units });
    this.units += units;
  }

  /**
   * Drops slots more than `lateMs` overdue. After a stall (a blocked event loop, a pause) the
   * limiter resumes at the rate instead of bursting to catch up; with a shared schedule this also
   * bounds how late any slot is released, which the global margin relies on. Returns the units
   * dropped.
   */
  dropOverdue(t: number, lateMs: number): number {
    const cutoff = t - lateMs;
    let dropped = 0;
    for (const block of this.#blocks) {
      if (block.next >= cutoff) break;
      const overdue = Math.min(
        block.units,
        Math.ceil((cutoff - block.next) / block.intervalMs - epsilon),
      );
      this.take(overdue);
      dropped += overdue;
    }
    return dropped;
  }

  /**
   * When a cost of `units` may be released: at the slot of its first unit, as GCRA allows a request
   * at the theoretical arrival time and then moves that time on by its cost, so an idle limiter
   * never makes a large cost wait. Undefined while fewer units are held.
   */
  dueAt(units: number): number | undefined {
    if (units > this.units + epsilon) return undefined;
    return this.#blocks[0]?.next;
  }

  /** Spends `units` from the oldest slots on. */
  take(units: number): void {
    let left = units;
    while (left > epsilon) {
      const block = this.#blocks[0];
      if (!block) break;
      const taken = Math.min(left, block.units);
      block.next += taken * block.intervalMs;
      block.units -= taken;
      this.units -= taken;
      left -= taken;
      if (block.units <= epsilon) {
        this.units -= block.units;
        this.#blocks.shift();
      }
    }
    if (this.#blocks.length === 0) this.units = 0;
  }

  /** When the slot after the last held one would come due; -Infinity when nothing is held. */
  endMs(): number {
    const last = this.#blocks.at(-1);
    return last ? last.next + last.units * last.intervalMs : Number.NEGATIVE_INFINITY;
  }
}
