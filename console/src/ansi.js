/*
 * ansi.js: a log line's ANSI SGR colours as <span>s with classes (bold,
 * the 16 colours, fg and bg).  The text only ever becomes text nodes;
 * other escape sequences are dropped.
 */

import { h } from './dom.js';

const SGR = /\x1b\[([0-9;]*)m/g;
const OTHER = /\x1b(?:\[[0-9;?]*[A-Za-z]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

function classes(st) {
    const c = [];
    if (st.bold) {
        c.push('a-b');
    }
    if (st.fg !== null) {
        c.push(`a-f${st.fg}`);
    }
    if (st.bg !== null) {
        c.push(`a-g${st.bg}`);
    }
    return c.join(' ');
}

function apply(st, codes) {
    const list = codes === '' ? [0] : codes.split(';').map(Number);
    for (let i = 0; i < list.length; i++) {
        const n = list[i];
        if (n === 0) {
            st.bold = false;
            st.fg = st.bg = null;
        } else if (n === 1) {
            st.bold = true;
        } else if (n === 22) {
            st.bold = false;
        } else if (n >= 30 && n <= 37) {
            st.fg = n - 30;
        } else if (n >= 90 && n <= 97) {
            st.fg = n - 90 + 8;
        } else if (n === 39) {
            st.fg = null;
        } else if (n >= 40 && n <= 47) {
            st.bg = n - 40;
        } else if (n >= 100 && n <= 107) {
            st.bg = n - 100 + 8;
        } else if (n === 49) {
            st.bg = null;
        } else if (n === 38 || n === 48) {
            /* 256 colours and RGB: skipped, with their arguments */
            i += list[i + 1] === 5 ? 2 : 4;
        }
    }
}

/* the line's text without any escape sequence (for copy, search) */
export function stripAnsi(line) {
    return line.replace(SGR, '').replace(OTHER, '');
}

/* the line as nodes: text and coloured <span>s */
export function ansiNodes(line) {
    const out = [];
    const st = { bold: false, fg: null, bg: null };
    let last = 0;
    const push = (text) => {
        text = text.replace(OTHER, '');
        if (!text) {
            return;
        }
        const c = classes(st);
        out.push(c ? h('span', { class: c }, text) : text);
    };
    for (const m of line.matchAll(SGR)) {
        push(line.slice(last, m.index));
        apply(st, m[1]);
        last = m.index + m[0].length;
    }
    push(line.slice(last));
    return out;
}
