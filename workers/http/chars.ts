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

/**
 * Reason phrases of the status lines the gateway writes itself (local replies): Envoy's
 * (CodeUtility::toString), plus 101; any other status is "Unknown", as Envoy writes it.
 */
export const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  208: "Already Reported",
  226: "IM Used",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Payload Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Entity",
  423: "Locked",
  424: "Failed Dependency",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  510: "Not Extended",
  511: "Network Authentication Required",
};

export function reasonOf(status: number): string {
  return REASONS[status] ?? "Unknown";
}
