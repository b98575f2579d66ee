/*
 * dom.js: building the page without innerHTML.  Every text the API or a
 * log gives us goes in as a text node, so nothing it holds can become
 * markup or script (the CSP forbids inline script anyway).
 */

let uid = 0;

export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false) {
            continue;
        }
        if (k.startsWith('on') && typeof v === 'function') {
            el.addEventListener(k.slice(2), v);
        } else if (k === 'class') {
            el.className = v;
        } else if (k === 'value' || k === 'checked') {
            el[k] = v;
        } else {
            el.setAttribute(k, v === true ? '' : String(v));
        }
    }
    append(el, children);
    return el;
}

export function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false) {
            continue;
        }
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
}

export function clear(el) {
    while (el.firstChild) {
        el.firstChild.remove();
    }
    return el;
}

export function nextId(prefix) {
    uid += 1;
    return `${prefix}-${uid}`;
}

/*
 * A labelled field: <div class="field" data-field="api_name"> with a
 * visible <label>; an API error naming api_name lands inside it.
 */
export function field(label, control, apiField, hint) {
    const id = control.id || nextId('f');
    control.id = id;
    const box = h('div', { class: 'field', 'data-field': apiField || null },
        h('label', { for: id }, label), control);
    if (hint) {
        const hid = nextId('hint');
        control.setAttribute('aria-describedby', hid);
        box.append(h('p', { class: 'hint', id: hid }, hint));
    }
    return box;
}

export function input(attrs) {
    return h('input', Object.assign({ type: 'text' }, attrs));
}

export function select(options, value, attrs) {
    const s = h('select', attrs || {});
    for (const o of options) {
        const [v, label] = Array.isArray(o) ? o : [o, o];
        s.append(h('option', { value: v }, label));
    }
    if (value !== undefined) {
        s.value = value;
    }
    return s;
}

export function clearErrors(form) {
    form.querySelectorAll('.error[role="alert"]').forEach((e) => e.remove());
    form.querySelectorAll('[aria-invalid]').forEach((e) => {
        e.removeAttribute('aria-invalid');
    });
}

/*
 * Shows an API error: beside the field error.field names when the form
 * has it, else at the top of the form.  Returns the field's box or null.
 */
export function showError(form, err) {
    clearErrors(form);
    const message = err.message || 'Something went wrong';
    const box = err.field
        ? form.querySelector(`[data-field="${CSS.escape(err.field)}"]`)
        : null;
    if (box) {
        const ctl = box.querySelector('input, select, textarea');
        const p = h('p', { class: 'error', role: 'alert' }, message);
        box.append(p);
        if (ctl) {
            ctl.setAttribute('aria-invalid', 'true');
            ctl.focus();
        }
        return box;
    }
    form.prepend(h('div', { class: 'error', role: 'alert' }, message));
    return null;
}

/* a modal <dialog>: showModal() makes the rest of the page inert */
export function confirmDialog(title, text, okLabel) {
    return new Promise((resolve) => {
        const ok = h('button', { type: 'submit', class: 'danger', value: 'ok' },
            okLabel);
        const dlg = h('dialog', { 'aria-labelledby': 'dlg-title' },
            h('form', { method: 'dialog' },
                h('h2', { id: 'dlg-title' }, title),
                h('p', {}, text),
                h('div', { class: 'actions' },
                    h('button', { type: 'submit', value: 'no' }, 'Back'),
                    ok)));
        dlg.addEventListener('close', () => {
            resolve(dlg.returnValue === 'ok');
            dlg.remove();
        });
        document.body.append(dlg);
        dlg.showModal();
        ok.focus();
    });
}

export function badge(state) {
    return h('span', { class: `badge s-${String(state).toLowerCase()}` },
        state);
}

export function when(iso) {
    if (!iso) {
        return '';
    }
    const d = new Date(iso);
    return d.toLocaleString();
}

export function duration(a, b) {
    if (!a) {
        return '';
    }
    const ms = (b ? new Date(b) : new Date()) - new Date(a);
    const s = Math.max(0, Math.round(ms / 1000));
    return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

export function debounce(fn, ms) {
    let t = null;
    return (...args) => {
        clearTimeout(t);
        t = setTimeout(() => fn(...args), ms);
    };
}

/* a table's <thead>; an empty name is the actions column, named for
 * screen readers only */
export function thead(names) {
    return h('thead', {}, h('tr', {}, names.map((c) => h('th', { scope: 'col' },
        c || h('span', { class: 'sr-only' }, 'Actions')))));
}
