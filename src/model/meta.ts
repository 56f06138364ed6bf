// What every decoded resource carries: Kubernetes object metadata and where it
// was read from (so findings can name the file, the document and the field).

/** One configuration file as read from disk. */
export interface SourceFile {
  path: string;
  text: string;
}

export interface SourceRef {
  file: string;
  /** 0-based index of the YAML document inside the file (0 for JSON). */
  doc: number;
  /** Field path of the object inside its document: "" or `items[3]` for a List. */
  path: string;
  /** sha256 (hex) of the whole file's text; "" when not read from a file (then compile hashes the object). */
  digest: string;
}

export interface ObjectMeta {
  name: string;
  /** `default` when not written, as `kubectl apply` does. */
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339 as written, or "" (then the object sorts first, by name). */
  creationTimestamp: string;
  /** `metadata.generation` (the API server's spec version) when written: status conditions echo it as `observedGeneration`. */
  generation?: number;
}

export interface ResourceBase<K extends string, S> {
  kind: K;
  apiVersion: string;
  metadata: ObjectMeta;
  spec: S;
  source: SourceRef;
}

/** `Kind/namespace/name`, the reference findings use. */
export function resourceRef(r: { kind: string; metadata: { name: string; namespace: string } }): string {
  // the Gateway API Gateway, as kubectl names it (never confused with networking.istio.io's)
  const kind = r.kind === "KubernetesGateway" ? "Gateway.gateway.networking.k8s.io" : r.kind;
  return `${kind}/${r.metadata.namespace}/${r.metadata.name}`;
}

/** The field path of `field` inside the resource's document (adds the List prefix). */
export function fieldPath(source: SourceRef, field: string): string {
  if (source.path === "") return field;
  return field === "" ? source.path : underPath(source.path, field);
}

/** `field` inside `prefix` (a List item's `items[2]`): joined by a dot, or directly before a quoted key `["..."]`. */
export function underPath(prefix: string, field: string): string {
  if (prefix === "") return field;
  if (field === "") return prefix;
  return field.startsWith("[") ? `${prefix}${field}` : `${prefix}.${field}`;
}

/** Milliseconds of an RFC 3339 time; "" or unreadable sorts first. */
export function timeOf(t: string): number {
  if (t === "") return -Infinity;
  const v = Date.parse(t);
  return Number.isNaN(v) ? -Infinity : v;
}

/**
 * Istio's creation order: creationTimestamp, then name, then namespace. Objects
 * without a timestamp (files written by hand) sort first, by name.
 */
export function compareCreation(
  a: { metadata: ObjectMeta },
  b: { metadata: ObjectMeta },
): number {
  const ta = a.metadata.creationTimestamp;
  const tb = b.metadata.creationTimestamp;
  if (ta !== tb) {
    const da = timeOf(ta);
    const db = timeOf(tb);
    if (da !== db) return da < db ? -1 : 1;
  }
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  if (a.metadata.namespace !== b.metadata.namespace) return a.metadata.namespace < b.metadata.namespace ? -1 : 1;
  return 0;
}
