// Slots: a counting semaphore with a bounded FIFO queue and a per-waiter timeout. It caps how many
// requests are in flight upstream (a GPU serves a handful of sequences well and many badly) and turns
// overload into a fast, explicit refusal instead of an unbounded pile-up. Pure: no I/O, no clock
// besides the waiter timers, so it is unit-tested on its own.

export type SlotRejection = "queue_full" | "queue_timeout" | "aborted" | "closed";

export class SlotError extends Error {
  readonly reason: SlotRejection;
  constructor(reason: SlotRejection) {
    super(`slot not granted: ${reason}`);
    this.name = "SlotError";
    this.reason = reason;
  }
}

/** Gives the slot back. Calling it more than once is harmless (only the first call counts). */
export type Release = () => void;

export interface SlotsOptions {
  capacity: number;
  /** Waiters allowed beyond `capacity`; 0 means refuse as soon as every slot is busy. */
  maxQueue: number;
  /** How long a waiter may queue before it is refused with "queue_timeout". */
  timeoutMs: number;
}

interface Waiter {
  resolve: (release: Release) => void;
  reject: (err: SlotError) => void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class Slots {
  #capacity: number;
  #busy = 0;
  #closed = false;
  readonly #queue: Waiter[] = [];
  readonly #maxQueue: number;
  readonly #timeoutMs: number;

  constructor(opts: SlotsOptions) {
    this.#capacity = opts.capacity;
    this.#maxQueue = opts.maxQueue;
    this.#timeoutMs = opts.timeoutMs;
  }

  get busy(): number {
    return this.#busy;
  }
  get queued(): number {
    return this.#queue.length;
  }
  get capacity(): number {
    return this.#capacity;
  }

  /** Resolves with a Release once a slot is free; rejects with SlotError when refused. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.#closed) return Promise.reject(new SlotError("closed"));
    if (signal?.aborted) return Promise.reject(new SlotError("aborted"));
    // FIFO: a newcomer never overtakes someone already waiting, even if a slot just freed.
    if (this.#busy < this.#capacity && this.#queue.length === 0) return Promise.resolve(this.#grant());
    if (this.#queue.length >= this.#maxQueue) return Promise.reject(new SlotError("queue_full"));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
        timer: setTimeout(() => this.#drop(waiter, "queue_timeout"), this.#timeoutMs),
      };
      if (signal) {
        waiter.onAbort = () => this.#drop(waiter, "aborted");
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
    });
  }

  /** Changes the number of slots (per-upstream mode scales it with the upstreams in service). */
  setCapacity(capacity: number): void {
    this.#capacity = capacity;
    this.#pump();
  }

  /** Refuses every waiter and every later acquire; slots already granted stay valid until released. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#queue.splice(0)) this.#settle(waiter).reject(new SlotError("closed"));
  }

  #grant(): Release {
    this.#busy += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy -= 1;
      this.#pump();
    };
  }

  #pump(): void {
    while (this.#busy < this.#capacity && this.#queue.length > 0) {
      const waiter = this.#queue.shift() as Waiter;
      this.#settle(waiter).resolve(this.#grant());
    }
  }

  #drop(waiter: Waiter, reason: SlotRejection): void {
    const i = this.#queue.indexOf(waiter);
    if (i === -1) return;
    this.#queue.splice(i, 1);
    this.#settle(waiter).reject(new SlotError(reason));
  }

  /** Detaches the waiter's timer and abort listener so a settled waiter can never fire again. */
  #settle(waiter: Waiter): Waiter {
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    return waiter;
  }
}
