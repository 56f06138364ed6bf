// Byte classes for the HTTP/1.1 grammar (RFC 9110/9112), as lookup tables.
// One table read per character keeps the head parsers strict and cheap.

/** tchar: the characters of a token (method, header name). */
export const TCHAR = new Uint8Array(256);
/** field-vchar / obs-text / SP / HTAB: what a header value (or reason phrase) may hold. */
export const FIELD = new Uint8Array(256);
/** What a request-target may hold: visible ASCII only. */
export const TARGET = new Uint8Array(256);
/** Hex digit value + 1 (0: not a hex digit). */
export const HEX = new Uint8Array(256);

for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  FIELD[c] = c === 9 || (c >= 32 && c <= 126) || c >= 128 ? 1 : 0;
  TARGET[c] = c >= 33 && c <= 126 ? 1 : 0;
}
for (let d = 0; d < 10; d++) HEX[48 + d] = d + 1;
for (let d = 0; d < 6; d++) {
  HEX[65 + d] = d + 11;
  HEX[97 + d] = d + 11;
}

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
export const COLON = 58;

/** Standard reason phrases for the statuses the gateway writes itself. */
export const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Payload Too Large",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

export function reasonOf(status: number): string {
  return REASONS[status] ?? "Unknown";
}
