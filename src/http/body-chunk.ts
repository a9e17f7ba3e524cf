/**
 * Bytes of body one HTTP message carries: the rest of a request's body goes through its body
 * channel, and a response's body is split into `more_content` parts of this size.
 */
export const BODY_CHUNK = 512 * 1024;
