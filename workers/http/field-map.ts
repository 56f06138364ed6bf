// An object keyed by header field names from the wire. Made without a
// prototype: a field named `__proto__` or `constructor` is then an entry like
// any other, instead of replacing the object's prototype (its "fields" would
// come back as `0`, `1`, ...) or reading Object.prototype's members.
export function fieldMap<T extends object>(): T {
  return Object.create(null) as T;
}
