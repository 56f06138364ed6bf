// Poll `f` until `ok` holds of its value (a hot reload taking effect), bounded in
// time and count; throws with the last value when it never does.
export async function untilValue<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 15_000;
  for (let i = 0; ; i++) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end || i > 300) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await Bun.sleep(50);
  }
}
