// A Unicode sparkline: one block character per value, its height the value's place between
// `min` and `max`. Longer series are averaged down to `width` characters.
const BARS = '▁▂▃▄▅▆▇█';

const downsample = (values: readonly number[], width: number): number[] => {
  if (values.length <= width) return [...values];
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const bucket = values.slice(Math.floor((i * values.length) / width), Math.floor(((i + 1) * values.length) / width));
    out.push(bucket.reduce((a, b) => a + b, 0) / bucket.length);
  }
  return out;
};

export const sparkline = (values: readonly number[], options: { min?: number; max?: number; width?: number } = {}): string => {
  const series = downsample(values, options.width ?? 60);
  if (series.length === 0) return '';
  const min = options.min ?? Math.min(...series);
  const max = options.max ?? Math.max(...series);
  const span = max - min;
  return series
    .map((value) => {
      if (span <= 0) return BARS[0];
      const level = Math.round(((Math.min(max, Math.max(min, value)) - min) / span) * (BARS.length - 1));
      return BARS[level];
    })
    .join('');
};
