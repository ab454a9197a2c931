/** The synthetic series of `npm run bench:score`: a slow wave plus deterministic noise. */
export function signal(i: number, t: number): number {
  return 100 + 10 * Math.sin((t + i) / 50) + ((i * 7919 + t * 104729) % 97) / 10;
}
