import { PNG } from 'pngjs';
import { writeFileSync } from 'node:fs';
import type { Rgb } from './colormap.js';

/** An RGBA raster with the few drawing operations the views need. */
export class Image {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.data.set([background[0], background[1], background[2], 255], i * 4);
  }

  /** Blends `c` at (x, y) with opacity `alpha`; points outside are ignored. */
  plot(x: number, y: number, c: Rgb, alpha = 1): void {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 4;
    for (let k = 0; k < 3; k++) this.data[o + k] = Math.round(this.data[o + k] * (1 - alpha) + c[k] * alpha);
  }

  fillRect(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) this.plot(x, y, c);
    }
  }

  disc(cx: number, cy: number, r: number, c: Rgb): void {
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.plot(x, y, c);
      }
    }
  }

  /** A straight segment, one blended sample per pixel step along its longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= steps; i++) this.plot(x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps, c, alpha);
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png);
  }

  writePng(path: string): void {
    writeFileSync(path, this.toPng());
  }
}
