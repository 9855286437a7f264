// Charts drawn as SVG elements (geometry attributes only: the CSP forbids inline styles).
import { s } from "./dom";

export interface Stack {
  label: string;
  local: number;
  cloud: number;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// Daily local and cloud spending as stacked columns.
export function stackedColumns(rows: Stack[], format: (v: number) => string): SVGElement {
  const width = 760, height = 240, left = 64, bottom = 28, top = 12;
  const plotW = width - left - 8, plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.local + r.cloud)));
  const slot = rows.length ? plotW / rows.length : plotW;
  const bar = Math.max(2, slot * 0.7);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => [
    s("line", { x1: left, x2: width - 8, y1: y(max * f), y2: y(max * f), class: "grid" }),
    s("text", { x: left - 6, y: y(max * f) + 4, class: "axis", "text-anchor": "end" }, format(max * f)),
  ]);
  const labelEvery = Math.max(1, Math.ceil(rows.length / 10));
  const bars = rows.map((r, i) => {
    const x = left + i * slot + (slot - bar) / 2;
    return s(
      "g",
      {},
      s("title", {}, `${r.label}: local ${format(r.local)}, cloud ${format(r.cloud)}`),
      s("rect", { x, width: bar, y: y(r.local), height: y(0) - y(r.local), class: "local" }),
      s("rect", { x, width: bar, y: y(r.local + r.cloud), height: y(r.local) - y(r.local + r.cloud), class: "cloud" }),
      i % labelEvery === 0
        ? s("text", { x: x + bar / 2, y: height - 8, class: "axis", "text-anchor": "middle" }, r.label.slice(5))
        : null,
    );
  });
  return s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" }, grid, bars);
}

// One horizontal bar per row, longest first.
export function horizontalBars(rows: { label: string; value: number }[], format: (v: number) => string): SVGElement {
  const sorted = [...rows].sort((a, b) => b.value - a.value);
  const rowH = 24, left = 170, width = 560, right = 90;
  const max = Math.max(0, ...sorted.map((r) => r.value)) || 1;
  const height = Math.max(rowH, sorted.length * rowH) + 4;
  return s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart hbars", role: "img" },
    sorted.map((r, i) => {
      const w = ((width - left - right) * r.value) / max;
      return s(
        "g",
        {},
        s("text", { x: left - 6, y: i * rowH + 16, class: "axis", "text-anchor": "end" }, r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label),
        s("rect", { x: left, y: i * rowH + 4, width: Math.max(1, w), height: rowH - 8, class: "bar" }),
        s("text", { x: left + w + 6, y: i * rowH + 16, class: "axis" }, format(r.value)),
      );
    }),
  );
}

// A single bar split into the local share and the rest.
export function shareBar(local: number): SVGElement {
  const width = 400, height = 22;
  const w = Math.min(1, Math.max(0, local)) * width;
  return s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart share", role: "img" },
    s("rect", { x: 0, y: 0, width, height, class: "cloud" }),
    s("rect", { x: 0, y: 0, width: w, height, class: "local" }),
  );
}
