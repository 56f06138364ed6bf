// Byte classes for the HTTP/1.1 grammar (RFC 9110/9112), as lookup tables.
// One table read per character keeps the head parsers strict and cheap.

/** tchar: the characters of a token (method, header name). */
export const TCHAR = new Uint8Array(256);
/**
 * What an HTTP/1.1 method may hold: tchars but lower-case letters. Envoy's HTTP/1 codec (Balsa)
 * takes only the methods it knows, all upper case, and nginx only A-Z `_` `-`: a `delete` forwarded
 * as sent would pass an AuthorizationPolicy on `DELETE` to an upstream that upper-cases methods.
 */
export const METHOD = new Uint8Array(256);
/** field-vchar / obs-text / SP / HTAB: what a header value (or reason phrase) may hold. */
export const FIELD = new Uint8Array(256);
/** What a request-target may hold: visible ASCII only. */
export const TARGET = new Uint8Array(256);
/** Hex digit value + 1 (0: not a hex digit). */
export const HEX = new Uint8Array(256);

for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  METHOD[c] = TCHAR[c]! === 1 && !(c >= 97 && c <= 122) ? 1 : 0;
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
