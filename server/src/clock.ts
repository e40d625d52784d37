/** The server's time seam: domain rules read `now()` from here, so tests can pin and move time. */
export interface Clock {
  now(): Date;
}

export const realClock: Clock = { now: () => new Date() };

export class ManualClock implements Clock {
  #now: number;
  constructor(start: string | Date = "2026-11-30T12:00:00Z") {
    this.#now = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

export const iso = (d: Date): string => d.toISOString();
