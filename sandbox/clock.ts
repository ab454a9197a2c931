/** The simulator's clock: deterministic, starts at a fixed instant and moves only when advanced. */
export class SimClock {
  private ms: number;

  constructor(start = Date.UTC(2026, 0, 5, 0, 0, 0)) {
    this.ms = start;
  }

  now(): Date {
    return new Date(this.ms);
  }

  get epochMs(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
