// The `format`s Kubernetes schemas use, checked as the API server checks them
// (k8s.io/kube-openapi's strfmt): int32/int64 ranges, base64 `byte`, RFC 3339
// `date-time`, IP addresses. Formats that only document a number's width
// (`double`, `float`) accept any number.
import type Ajv from "ajv";
import { isIPv4, isIPv6 } from "node:net";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function addKubernetesFormats(ajv: Ajv): void {
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("double", { type: "number", validate: () => true });
  ajv.addFormat("float", { type: "number", validate: () => true });
  // Kubernetes decodes base64 ignoring line breaks (PEM-style wrapping)
  ajv.addFormat("byte", { type: "string", validate: (s: string) => BASE64.test(s.replace(/[\r\n]/g, "")) });
  ajv.addFormat("date-time", { type: "string", validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });
  ajv.addFormat("date", { type: "string", validate: (s: string) => DATE.test(s) });
  ajv.addFormat("ipv4", { type: "string", validate: (s: string) => isIPv4(s) });
  ajv.addFormat("ipv6", { type: "string", validate: (s: string) => isIPv6(s) });
}
