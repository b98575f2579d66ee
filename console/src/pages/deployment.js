/*
 * deployment.js: one deployment: its state (live), commit, trigger,
 * duration, reason, the actions its state allows, and the build log
 * followed live (SSE), with Follow, Copy, Download and search within.
 */

import { get } from '../api.js';
import {
    h, append, clear, badge, when, duration, field, input, debounce,
} from '../dom.js';
import { actionButtons, FINAL } from '../deploy.js';
import { follow } from '../sse.js';
import { ansiNodes, stripAnsi } from '../ansi.js';

export default async function deployment(ctx) {
    const id = ctx.params.id;
    let d = await get(`/api/v1/deployments/${id}`, ctx.signal);
    const p = await get(`/api/v1/projects/${d.project_id}`, ctx.signal);
    ctx.title(`Deployment ${id}`);

    const alert = h('div', { role: 'alert', class: 'error', hidden: true });
    const summary = h('div', { class: 'summary' });
    const actions = h('div', { class: 'actions' });
    const lines = [];
    const log = h('div', { class: 'log', role: 'log', 'aria-label': 'Build log',
        tabindex: '0' });
    const logStatus = h('p', { role: 'status', class: 'muted' });
    const followBtn = h('button', { type: 'button', 'aria-pressed': 'true' }, 'Follow');
    const search = input({ type: 'search', name: 'q', autocomplete: 'off' });
    let following = true;

    function fail(e) {
        alert.hidden = false;
        alert.textContent = e.message;
    }

    function draw() {
        clear(summary).append(
            h('dl', {},
                h('dt', {}, 'State'), h('dd', {}, badge(d.state)),
                h('dt', {}, 'Commit'), h('dd', { class: 'mono' },
                    d.commit ? d.commit.slice(0, 12) : `head of ${d.branch}`,
                    d.commit_message ? ` ${d.commit_message.split('\n')[0]}` : ''),
                h('dt', {}, 'Branch'), h('dd', {}, d.branch),
                h('dt', {}, 'Trigger'), h('dd', {}, d.trigger),
                h('dt', {}, 'Duration'), h('dd', {}, duration(d.started_at, d.finished_at)),
                h('dt', {}, 'Reason'), h('dd', {}, d.reason),
                h('dt', {}, 'Created'), h('dd', {}, when(d.created_at))));
        append(clear(actions), actionButtons(d, (a, answer) => {
            if (a.method === 'DELETE') {
                ctx.navigate(`/projects/${p.id}`);
            } else if (answer && answer.id && String(answer.id) !== String(d.id)) {
                ctx.navigate(`/deployments/${answer.id}`);
            } else {
                reload();
            }
        }, fail));
    }

    async function reload() {
        d = await get(`/api/v1/deployments/${id}`, ctx.signal);
        draw();
    }

    function matches(text) {
        const q = search.value.trim().toLowerCase();
        return !q || text.toLowerCase().includes(q);
    }

    function addLine(l) {
        const text = stripAnsi(l.line);
        const el = h('div', { class: `line ${l.stream}` },
            h('span', { class: 'ts', 'aria-hidden': 'true' },
                (l.at || '').slice(11, 23)), ' ', ansiNodes(l.line));
        el.hidden = !matches(text);
        lines.push({ el, text });
        log.append(el);
        if (following) {
            log.scrollTop = log.scrollHeight;
        }
    }

    function setFollow(on) {
        following = on;
        followBtn.setAttribute('aria-pressed', String(on));
        if (on) {
            log.scrollTop = log.scrollHeight;
        }
    }

    followBtn.addEventListener('click', () => setFollow(!following));
    log.addEventListener('wheel', (e) => {
        if (e.deltaY < 0 && following) {
            setFollow(false);
        }
    });

    search.addEventListener('input', debounce(() => {
        let n = 0;
        for (const l of lines) {
            l.el.hidden = !matches(l.text);
            n += l.el.hidden ? 0 : 1;
        }
        logStatus.textContent = search.value.trim()
            ? `${n} of ${lines.length} lines match` : '';
    }, 150));

    const plain = () => lines.map((l) => l.text).join('\n') + '\n';

    const copy = h('button', { type: 'button', onclick: async () => {
        try {
            await navigator.clipboard.writeText(plain());
            logStatus.textContent = 'Log copied';
        } catch {
            const sel = getSelection();
            sel.selectAllChildren(log);
            logStatus.textContent = 'The log is selected: press Ctrl+C to copy it';
        }
    } }, 'Copy');

    const download = h('button', { type: 'button', onclick: () => {
        const url = URL.createObjectURL(new Blob([plain()], { type: 'text/plain' }));
        const a = h('a', { href: url, download: `${p.name}-deployment-${id}.log` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
    } }, 'Download');

    ctx.main.append(
        h('p', { class: 'crumbs' }, h('a', { href: `/projects/${p.id}` }, p.name),
            ' / deployment'),
        h('div', { class: 'head' },
            h('h1', {}, `Deployment #${id}`),
            h('a', { class: 'button', href: p.url, target: '_blank',
                rel: 'noopener noreferrer' }, 'Visit')),
        alert, summary, actions,
        h('section', { 'aria-labelledby': 'log-h' },
            h('div', { class: 'head' },
                h('h2', { id: 'log-h' }, 'Log'),
                h('div', { class: 'toolbar' }, followBtn, copy, download,
                    field('Search', search))),
            logStatus, log));
    draw();

    follow(`/api/v1/deployments/${id}/logs/stream`, {
        signal: ctx.signal,
        onLine: addLine,
        onEnd: () => reload().catch(() => {}),
        onError: (msg) => { logStatus.textContent = msg; },
    });

    const timer = setInterval(() => {
        if (!FINAL.includes(d.state) && !document.hidden) {
            reload().catch(() => {});
        }
    }, 2000);
    ctx.signal.addEventListener('abort', () => clearInterval(timer));
}
