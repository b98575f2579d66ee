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

/*
 * 30-37 and 90-97 set the foreground (the second eight bright), 39 resets
 * it; 40-47, 100-107 and 49 do the same for the background.
 */
const COLOURS = [['fg', 30, 90], ['bg', 40, 100]];

function colour(st, n) {
    for (const [key, base, bright] of COLOURS) {
        if (n >= base && n <= base + 7) {
            st[key] = n - base;
        } else if (n >= bright && n <= bright + 7) {
            st[key] = n - bright + 8;
        } else if (n === base + 9) {
            st[key] = null;
        }
    }
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
        } else if (n === 38 || n === 48) {
            /* 256 colours and RGB: skipped, with their arguments */
            i += list[i + 1] === 5 ? 2 : 4;
        } else {
            colour(st, n);
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
