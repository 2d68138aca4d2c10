// A server that stops answering without closing its connections (a hung or stopped process, a
// machine whose network went, behind a host that still acknowledges) leaves a statement waiting
// forever: TCP keepalives are answered by the kernel, and a long statement (an index build) is
// silent by nature, so silence on a connection proves nothing. A connector's Liveness asks the
// server on a connection of its own, while the connector has any open, whether it still answers;
// when it does not within SILENCE_MS, every connection of the connector is ended with a transient
// error, so the operations on them fail, are retried as the plan allows, and the command stops.
import type { Socket } from 'node:net';

/** How often the server is asked while connections are open. */
export const PING_EVERY_MS = 10_000;
/** How long the server may take to answer before it is taken for gone. */
export const SILENCE_MS = 30_000;

/** A ping's outcome: the server answered (even with an error), or nothing came in time. */
export type PingOutcome = 'answered' | 'silent';

export class Liveness {
  private readonly sockets = new Set<Socket>();
  private timer?: NodeJS.Timeout;
  private pinging = false;

  /**
   * `server` names it in errors ("PostgreSQL at host:port"); `ping(timeoutMs)` opens a connection
   * of its own, asks something trivial and closes it.
   */
  constructor(
    private readonly server: string,
    private readonly ping: (timeoutMs: number) => Promise<PingOutcome>,
    private readonly timing = { everyMs: PING_EVERY_MS, silenceMs: SILENCE_MS },
  ) {}

  /** Watches a socket of the connector until it closes. */
  track<S extends Socket>(socket: S): S {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.timing.everyMs);
      // watching never keeps the process alive by itself
      this.timer.unref();
    }
    return socket;
  }

  private async check(): Promise<void> {
    if (this.pinging || this.sockets.size === 0) return;
    this.pinging = true;
    try {
      if ((await this.ping(this.timing.silenceMs)) === 'answered') return;
      const silence = Object.assign(
        new Error(`${this.server} did not answer for ${Math.round(this.timing.silenceMs / 1000)} s`),
        { code: 'ETIMEDOUT' },
      );
      for (const s of [...this.sockets]) s.destroy(silence);
    } finally {
      this.pinging = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
