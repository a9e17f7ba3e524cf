/**
 * Every injection token of this package is a string `nestjs-channels:<name>`, never a Symbol. An
 * app can end up with two copies of the package (a library that depends on another version, a
 * linked checkout): a Symbol made by one copy is a different token in the other, so a provider one
 * copy registers would never be found by the other. The same string is the same token in both.
 */
export function channelsToken(name: string): string {
  return `nestjs-channels:${name}`;
}
