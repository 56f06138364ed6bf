// The `format`s Kubernetes schemas use, checked as the API server checks them
// (k8s.io/kube-openapi's strfmt): int32/int64 ranges, base64 `byte`, RFC 3339
// `date-time`, IP addresses. Formats that only document a number's width
// (`double`, `float`) accept any number. The generated validators
// (src/validate/generated/) require this module by path: keep its name.
import type Ajv from "ajv";
import { isIPv4, isIPv6 } from "node:net";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

type Format = { type: "number"; validate: (n: number) => boolean } | { type: "string"; validate: (s: string) => boolean };

export const KUBERNETES_FORMATS: Record<string, Format> = {
  int32: { type: "number", validate: (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 },
  int64: { type: "number", validate: (n) => Number.isInteger(n) },
  double: { type: "number", validate: () => true },
  float: { type: "number", validate: () => true },
  // Kubernetes decodes base64 ignoring line breaks (PEM-style wrapping)
  byte: { type: "string", validate: (s) => BASE64.test(s.replace(/[\r\n]/g, "")) },
  "date-time": { type: "string", validate: (s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) },
  date: { type: "string", validate: (s) => DATE.test(s) },
  ipv4: { type: "string", validate: (s) => isIPv4(s) },
  ipv6: { type: "string", validate: (s) => isIPv6(s) },
};

export function addKubernetesFormats(ajv: Ajv): void {
  for (const [name, f] of Object.entries(KUBERNETES_FORMATS)) ajv.addFormat(name, f as Parameters<Ajv["addFormat"]>[1]);
}
