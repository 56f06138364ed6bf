// A loopback port whose connects never complete (no answer to the SYN): a
// listening socket with backlog 0 (libc through bun:ffi; Bun.listen has no
// backlog option) whose accept queue is filled by one connection never
// accepted. Linux then drops further SYNs, so a connect to it stays in
// SYN_SENT until the connector gives up: a connect timeout, on loopback.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { connect, type Socket } from "node:net";

const libc = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});

export interface Blackhole {
  port: number;
  close(): void;
}

/** Listen on 127.0.0.1 (a free port) with a full accept queue; resolves once it drops SYNs. */
export async function blackhole(): Promise<Blackhole> {
  const fd = libc.symbols.socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
  if (fd < 0) throw new Error("socket() failed");
  const addr = new Uint8Array(16); // sockaddr_in: family (host order), port 0, 127.0.0.1
  new DataView(addr.buffer).setUint16(0, 2, true);
  addr.set([127, 0, 0, 1], 4);
  if (libc.symbols.bind(fd, ptr(addr), 16) !== 0 || libc.symbols.listen(fd, 0) !== 0) {
    libc.symbols.close(fd);
    throw new Error("bind/listen failed");
  }
  const len = new Uint32Array([16]);
  libc.symbols.getsockname(fd, ptr(addr), ptr(len));
  const port = new DataView(addr.buffer).getUint16(2, false);
  // backlog 0 admits one connection to the accept queue: fill it
  const filler: Socket = await new Promise((resolve, reject) => {
    const c = connect({ host: "127.0.0.1", port }, () => resolve(c));
    c.on("error", reject);
  });
  return {
    port,
    close() {
      filler.destroy();
      libc.symbols.close(fd);
    },
  };
}
