/**
 * At most `max` characters of a one-line text, cut at a word boundary when one is near, with an
 * ellipsis when anything was cut: "gateway to 192.168.50.1" never reads as "gateway 1".
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, Math.max(1, max - 1));
  const space = cut.lastIndexOf(' ');
  return `${(space >= max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
