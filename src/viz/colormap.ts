/** An RGB colour, components in 0..255. */
export type Rgb = [number, number, number];

// Anchor colours of perceptually ordered maps, interpolated linearly between anchors.
const VIRIDIS: Rgb[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const INFERNO: Rgb[] = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];
const DIVERGING: Rgb[] = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];

function sample(anchors: Rgb[], t: number): Rgb {
  const x = Number.isFinite(t) ? Math.min(Math.max(t, 0), 1) * (anchors.length - 1) : 0;
  const i = Math.min(Math.floor(x), anchors.length - 2);
  const f = x - i;
  const a = anchors[i], b = anchors[i + 1];
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

/** Sequential map for values in [0, 1] (activations). */
export const viridis = (t: number): Rgb => sample(VIRIDIS, t);
/** Sequential map for non-negative intensities (memory field). */
export const inferno = (t: number): Rgb => sample(INFERNO, t);
/** Blue (-1) to white (0) to red (+1), for weights. */
export const diverging = (t: number): Rgb => sample(DIVERGING, (t + 1) / 2);
