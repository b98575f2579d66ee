/*
 * chart.js: a project's usage as small SVG charts, drawn without a
 * library.  series() is the arithmetic (pure, tested by logic.mjs);
 * chart() turns it into an <svg role="img"> whose label says in words
 * what the lines show, so a screen reader gets the numbers too.
 */

import { h } from './dom.js';

const W = 600;
const H = 120;
const SVG = 'http://www.w3.org/2000/svg';

/* the smallest 1, 2 or 5 times a power of ten at or above V (0: 1) */
export function niceMax(v) {
    if (!(v > 0)) {
        return 1;
    }
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) {
        if (m * p >= v) {
            return m * p;
        }
    }
    return 10 * p;
}

/*
 * series(POINTS, KEY): the polyline of POINTS[i][KEY] over a W x H box,
 * the first point at the left edge, the last at the right, 0 at the
 * bottom and the nice maximum at the top; one point is a flat line.
 */
export function series(points, key) {
    const values = points.map((p) => Number(p[key]) || 0);
    const max = niceMax(Math.max(0, ...values));
    const step = values.length > 1 ? W / (values.length - 1) : W;
    const xy = values.map((v, i) => [
        Math.round(i * step * 10) / 10,
        Math.round((H - (v / max) * H) * 10) / 10,
    ]);
    if (xy.length === 1) {
        xy.push([W, xy[0][1]]);
    }
    return {
        max,
        peak: Math.max(0, ...values),
        total: values.reduce((a, b) => a + b, 0),
        d: xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x} ${y}`).join(' '),
    };
}

export function bytes(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    let v = Number(n) || 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
    }
    return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) {
        el.setAttribute(k, String(v));
    }
    el.append(...children);
    return el;
}

/*
 * chart(TITLE, POINTS, KEY, FORMAT, SUMMARY): a figure with the title,
 * the scale's top value and the line; SUMMARY(s) words the series s
 * (peak, total) for the label.
 */
export function chart(title, points, key, format, summary) {
    const s = series(points, key);
    const label = `${title}: ${summary(s)}`;
    const plot = svg('svg', {
        viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none',
        role: 'img', 'aria-label': label, class: 'plot', 'data-key': key,
    },
    svg('line', { x1: 0, y1: H, x2: W, y2: H, class: 'axis' }),
    svg('path', { d: `${s.d} L${W} ${H} L0 ${H} Z`, class: 'area' }),
    svg('path', { d: s.d, class: 'line' }));
    return h('figure', { class: 'card chart' },
        h('figcaption', {}, h('span', {}, title),
            h('span', { class: 'muted' }, `scale ${format(s.max)}`)),
        plot);
}
