// Deadlines of one fixed length, kept in the order they were set, under one
// timer for the earliest one still wanted: what a setTimeout per item would
// do, without a native timer made and cancelled per item (per connection,
// measured ~2 µs in the TLS passthrough leg). An item's ticket cancels it;
// cancelled slots are skipped when the timer comes.

/** No deadline (a ticket that cancels nothing). */
export const NO_TICKET = -1;

export class DeadlineQueue<T> {
  private items: (T | null)[] = [];
  private dues: number[] = [];
  /** First slot not yet expired or skipped. */
  private head = 0;
  /** The ticket of items[0]. */
  private base = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    /** Each item's deadline, ms after it is added. */
    readonly ms: number,
    /** The deadline of `item` passed (called from the timer; exceptions go to `onError`). */
    private readonly expire: (item: T) => void,
    private readonly onError: (err: unknown) => void,
    /** Monotonic clock, ms (tests pass their own). */
    private readonly now: () => number = () => performance.now(),
    /** Timer functions (tests pass their own). */
    private readonly timers: { set(f: () => void, ms: number): ReturnType<typeof setTimeout>; clear(t: ReturnType<typeof setTimeout>): void } = SYSTEM_TIMERS,
  ) {}

  /** Items still waiting (cancelled ones not counted until the timer passes them). */
  get pending(): number {
    return this.items.length - this.head;
  }

  /** `item` expires `ms` from now unless cancelled; returns its ticket. */
  add(item: T): number {
    const due = this.now() + this.ms;
    const ticket = this.base + this.items.length;
    this.items.push(item);
    this.dues.push(due);
    if (this.timer === null) this.arm(due);
    return ticket;
  }

  /** The item of `ticket` no longer expires (a ticket already expired or cancelled: nothing). */
  cancel(ticket: number): void {
    const i = ticket - this.base;
    if (i >= this.head && i < this.items.length) this.items[i] = null;
  }

  private arm(due: number): void {
    this.timer = this.timers.set(this.fire, Math.max(1, Math.ceil(due - this.now())));
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = this.now();
    const items = this.items;
    const dues = this.dues;
    while (this.head < items.length) {
      const it = items[this.head];
      if (it !== null) {
        if (dues[this.head]! > now) break;
        items[this.head] = null;
        this.head++;
        try {
          this.expire(it!);
        } catch (err) {
          this.onError(err);
        }
        continue;
      }
      this.head++;
    }
    if (this.head === items.length) {
      this.base += items.length;
      items.length = 0;
      dues.length = 0;
      this.head = 0;
      return;
    }
    if (this.head >= 1024 && this.head * 2 >= items.length) {
      items.splice(0, this.head);
      dues.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (this.timer === null) this.arm(dues[this.head]!);
  };

  /** Stop the timer and forget every item (nothing expires after). */
  clear(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.base += this.items.length;
    this.items.length = 0;
    this.dues.length = 0;
    this.head = 0;
  }
}

const SYSTEM_TIMERS = {
  set: (f: () => void, ms: number) => setTimeout(f, ms),
  clear: (t: ReturnType<typeof setTimeout>) => clearTimeout(t),
};
