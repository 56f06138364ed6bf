// What the Downstream sees of the HTTP/2 side of one client connection, the
// same for both codecs (h2/conn.ts, h2-node.ts; h2.ts picks one).
import type { H2Stream } from "./h2-stream.ts";

/** The HTTP/2 side of one client connection, as the Downstream sees it. */
export interface H2Conn {
  /** Streams whose exchange is not over (the idle timeout checks them). */
  readonly streams: Set<H2Stream>;
  readonly active: number;
  /** Bytes from the client. */
  feed(b: Buffer): void;
  /** GOAWAY: no new streams; the connection closes when the open ones are done. */
  goaway(): void;
  /** The connection can take more (drain). */
  flush(): void;
  /** The connection closed. */
  closed(): void;
}
