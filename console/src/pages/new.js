/*
 * new.js: the new-project wizard.  One form in four steps (fieldsets, one
 * shown at a time): repository, build settings (detected by a builder:
 * POST /api/v1/detect, then GET /api/v1/detect/{id} until it is done),
 * environment variables, subdomain (checked live).  "Create project"
 * makes the project, sets its variables and starts its first deployment.
 */

import { api, get, qs } from '../api.js';
import {
    h, field, input, clear, showError, clearErrors, debounce,
} from '../dom.js';
import { icon } from '../icons.js';
import { parseDotenv } from '../dotenv.js';

const STEPS = ['Repository', 'Build settings', 'Environment', 'Subdomain'];

function slug(repo) {
    const base = repo.replace(/\/+$/, '').replace(/\.git$/, '').split('/').pop() || '';
    return base.toLowerCase().replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '').slice(0, 63);
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new DOMException('left', 'AbortError'));
    });
});

export default async function wizard(ctx) {
    ctx.title('New project');
    let step = 0;
    const vars = [];

    const f = {
        repo_url: input({ name: 'repo_url', required: true, autocomplete: 'off',
            placeholder: 'https://github.com/you/app.git' }),
        branch: input({ name: 'branch', value: 'main' }),
        root_dir: input({ name: 'root_dir', placeholder: '(the repository root)' }),
        framework: input({ name: 'framework', list: 'frameworks' }),
        install_cmd: input({ name: 'install_cmd', class: 'mono' }),
        build_cmd: input({ name: 'build_cmd', class: 'mono' }),
        output_dir: input({ name: 'output_dir', class: 'mono' }),
        run_cmd: input({ name: 'run_cmd', class: 'mono' }),
        key: input({ name: 'key', class: 'mono', autocomplete: 'off' }),
        value: input({ name: 'value', class: 'mono', autocomplete: 'off' }),
        dotenv: h('textarea', { name: 'dotenv', rows: 4, class: 'mono',
            placeholder: 'KEY=value' }),
        name: input({ name: 'name', autocomplete: 'off', spellcheck: 'false' }),
    };
    const iconBox = h('span', { class: 'fw' }, icon(null));
    const detectStatus = h('p', { role: 'status', class: 'muted' });
    const availability = h('p', { role: 'status', class: 'muted' });
    const varList = h('ul', { class: 'vars' });
    const pasted = h('p', { role: 'status', class: 'muted' });

    f.framework.addEventListener('input', () => {
        clear(iconBox).append(icon(f.framework.value.trim()));
    });

    const sets = [
        h('fieldset', {},
            h('legend', {}, 'Repository'),
            field('Repository', f.repo_url, 'repo_url',
                'An https:// git URL.'),
            field('Branch', f.branch, 'branch'),
            field('Root directory', f.root_dir, 'root_dir',
                'Where the app lives inside the repository.'),
            detectStatus),
        h('fieldset', {},
            h('legend', {}, 'Build settings'),
            h('div', { class: 'fw-row' }, iconBox,
                field('Framework', f.framework, 'framework')),
            field('Install command', f.install_cmd, 'install_cmd'),
            field('Build command', f.build_cmd, 'build_cmd'),
            field('Output directory', f.output_dir, 'output_dir'),
            field('Start command', f.run_cmd, 'run_cmd',
                'For an app that runs a server; empty for a static site.')),
        h('fieldset', {},
            h('legend', {}, 'Environment variables'),
            h('div', { class: 'row' },
                field('Key', f.key, 'key'),
                field('Value', f.value, 'value'),
                h('button', { type: 'button', onclick: addVar }, 'Add variable')),
            varList,
            field('Paste a .env file', f.dotenv, 'dotenv'),
            pasted),
        h('fieldset', {},
            h('legend', {}, 'Subdomain'),
            field('Subdomain', f.name, 'name'),
            availability),
    ];
    const dl = h('datalist', { id: 'frameworks' });
    for (const n of ['next', 'nest', 'angular', 'create-react-app', 'vite',
        'vue', 'svelte', 'fastify', 'express', 'django', 'fastapi', 'flask',
        'laravel', 'symfony', 'php'])
    {
        dl.append(h('option', { value: n }));
    }

    const back = h('button', { type: 'button', onclick: () => go(step - 1) }, 'Back');
    const next = h('button', { type: 'submit', class: 'primary' }, 'Next');
    const create = h('button', { type: 'submit', class: 'primary' }, 'Create project');
    const stepper = h('ol', { class: 'steps' });
    const form = h('form', { class: 'card wizard', novalidate: true },
        sets, dl, h('div', { class: 'actions' }, back, next, create));

    function renderVars() {
        clear(varList);
        vars.forEach((v, i) => {
            varList.append(h('li', {},
                h('code', {}, v.key), ' = ', h('code', {}, v.value),
                ' ',
                h('button', { type: 'button', class: 'link',
                    'aria-label': `Remove ${v.key}`,
                    onclick: () => { vars.splice(i, 1); renderVars(); } },
                'Remove')));
        });
    }

    /* a key set again replaces its value */
    function putVar(key, value) {
        const old = vars.findIndex((v) => v.key === key);
        if (old >= 0) {
            vars.splice(old, 1);
        }
        vars.push({ key, value });
    }

    function addVar() {
        clearErrors(form);
        const key = f.key.value.trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(key)) {
            showError(form, { field: 'key', message:
                'A key is letters, digits and _, not starting with a digit.' });
            return false;
        }
        putVar(key, f.value.value);
        f.key.value = '';
        f.value.value = '';
        renderVars();
        f.key.focus();
        return true;
    }

    /* a whole file pasted becomes rows, to be read and removed before
     * the project is made; text typed in the box is read at create */
    f.dotenv.addEventListener('paste', (ev) => {
        const found = parseDotenv(ev.clipboardData.getData('text/plain'));
        if (!found.length) {
            return;
        }
        ev.preventDefault();
        for (const v of found) {
            putVar(v.key, v.value);
        }
        renderVars();
        const n = found.length;
        pasted.textContent = `${n} variable${n > 1 ? 's' : ''} added from the pasted file`;
    });

    f.dotenv.addEventListener('input', () => {
        const n = parseDotenv(f.dotenv.value).length;
        pasted.textContent = n ? `${n} variable${n > 1 ? 's' : ''} from the pasted file` : '';
    });

    function go(n) {
        step = Math.max(0, Math.min(STEPS.length - 1, n));
        sets.forEach((s, i) => { s.hidden = i !== step; });
        back.hidden = step === 0;
        next.hidden = step === STEPS.length - 1;
        create.hidden = step !== STEPS.length - 1;
        clear(stepper);
        STEPS.forEach((s, i) => stepper.append(h('li', {
            'aria-current': i === step ? 'step' : null,
        }, s)));
        const first = sets[step].querySelector('input, textarea');
        if (first) {
            first.focus();
        }
        if (step === 3) {
            if (!f.name.value) {
                f.name.value = slug(f.repo_url.value);
            }
            checkName();
        }
    }

    const checkName = debounce(async () => {
        const name = f.name.value.trim();
        if (!name) {
            availability.textContent = '';
            return;
        }
        try {
            const r = await get('/api/v1/domains/check' + qs({ name }), ctx.signal);
            if (f.name.value.trim() !== name) {
                return;
            }
            availability.textContent = r.available
                ? `${name} is available`
                : `${name} ${r.reason || 'is not available'}`;
            availability.className = r.available ? 'ok' : 'warn';
        } catch (e) {
            availability.textContent = e.message;
        }
    }, 300);
    f.name.addEventListener('input', checkName);

    async function detect() {
        const body = { repo_url: f.repo_url.value.trim(),
            branch: f.branch.value.trim() || 'main' };
        if (f.root_dir.value.trim()) {
            body.root_dir = f.root_dir.value.trim();
        }
        detectStatus.textContent = 'Detecting the framework…';
        let d = await api('POST', '/api/v1/detect', body, ctx.signal);
        const until = Date.now() + 120000;
        while (d.state === 'pending' && Date.now() < until) {
            await sleep(500, ctx.signal);
            d = await get(`/api/v1/detect/${d.id}`, ctx.signal);
        }
        if (d.state === 'failed') {
            detectStatus.textContent = '';
            throw Object.assign(new Error(d.error.message), d.error);
        }
        const r = d.result || {};
        for (const k of ['framework', 'install_cmd', 'build_cmd', 'output_dir',
            'run_cmd'])
        {
            f[k].value = r[k] || '';
        }
        clear(iconBox).append(icon(r.framework));
        detectStatus.textContent = r.detected
            ? `Detected: ${r.framework || r.kind}`
            : 'Nothing recognised: set the commands yourself.';
    }

    async function createProject() {
        if (f.key.value.trim() && !addVar()) {
            return;
        }
        const body = { name: f.name.value.trim(), repo_url: f.repo_url.value.trim(),
            branch: f.branch.value.trim() || 'main' };
        for (const k of ['root_dir', 'framework', 'install_cmd', 'build_cmd',
            'output_dir', 'run_cmd'])
        {
            if (f[k].value.trim()) {
                body[k] = f[k].value.trim();
            }
        }
        const all = vars.concat(parseDotenv(f.dotenv.value));
        const p = await api('POST', '/api/v1/projects', body, ctx.signal);
        try {
            for (const v of all) {
                await api('PUT', `/api/v1/projects/${p.id}/env/${encodeURIComponent(v.key)}`,
                    { value: v.value, secret: false, target: 'both' }, ctx.signal);
            }
        } catch (e) {
            e.message = `The project was created, but a variable was refused: ${e.message}`;
            e.field = null;
            throw Object.assign(e, { project: p });
        }
        const d = await api('POST', `/api/v1/projects/${p.id}/deployments`, {},
            ctx.signal);
        ctx.navigate(`/deployments/${d.id}`);
    }

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(form);
        next.disabled = create.disabled = true;
        try {
            if (step === 0) {
                if (!f.repo_url.value.trim()) {
                    throw { field: 'repo_url', message: 'The repository is required.' };
                }
                await detect();
                go(1);
            } else if (step < 3) {
                go(step + 1);
            } else {
                await createProject();
            }
        } catch (e) {
            if (e.name === 'AbortError') {
                return;
            }
            if (e.project) {
                showError(form, e);
                form.prepend(h('p', {}, h('a', { href: `/projects/${e.project.id}/env` },
                    'Open its environment')));
                return;
            }
            const at = sets.findIndex((s) => e.field
                && s.querySelector(`[data-field="${CSS.escape(e.field)}"]`));
            if (at >= 0 && at !== step) {
                go(at);
            }
            showError(form, e);
        } finally {
            next.disabled = create.disabled = false;
        }
    });

    ctx.main.append(h('h1', {}, 'New project'),
        h('nav', { 'aria-label': 'Steps' }, stepper), form);
    go(0);
}
