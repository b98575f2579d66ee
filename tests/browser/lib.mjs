/*
 * lib.mjs: what every browser test shares.  Debian's chromium (scripts/deps)
 * driven by playwright-core, never a downloaded browser; results printed as
 * TAP, which the Perl .t that runs the script turns into its own; pages
 * scanned with axe-core.
 *
 *   import * as t from './lib.mjs';
 *   const browser = await t.launch();        // SHIPOFF_BROWSER_TMP: its dir
 *   const page = await t.newPage(browser);   // console errors recorded
 *   t.ok(cond, 'name', 'diagnostic when it fails');
 *   await t.axe(page, '/docs/');             // one test: no serious or
 *                                            // critical violation
 *   await t.step('signs up', async () => { ... });  // a throw: not ok
 *   await t.finish(browser);                 // the plan, exit code
 *
 * Every wait has a timeout (DEFAULT_TIMEOUT unless a step says longer), so
 * a missing label or button fails its step with playwright's message
 * ("waiting for getByLabel('Email')"), never hangs.  A failed step stops
 * the script: later steps depend on it.
 */
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const DEFAULT_TIMEOUT = 10000;

/* no GPU, no network of its own (updates, sync, QUIC), no sandbox (as
 * root, and in a chroot there are no namespaces); /dev/shm may be small or
 * missing in a chroot.  playwright adds --user-data-dir: a fresh profile
 * under TMPDIR, which launch() points at the test's temp dir. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
               '--disable-quic', '--no-first-run',
               '--disable-background-networking',
               '--disable-component-update', '--disable-sync',
               '--disable-dev-shm-usage'];

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let count = 0;
let failed = 0;


export function diag(text) {
    for (const line of String(text).split('\n')) {
        console.log('# ' + line);
    }
}


export function ok(cond, name, why) {
    count++;
    console.log(`${cond ? 'ok' : 'not ok'} ${count} - ${name}`);
    if (!cond) {
        failed++;
        if (why !== undefined) {
            diag(why);
        }
    }
    return cond;
}


export class Stop extends Error {}


/* step(NAME, FN): one test, ok when FN returns without throwing */
export async function step(name, fn) {
    try {
        await fn();
        ok(true, name);
    } catch (e) {
        /* the message says what was looked for and where; a stack only
         * when a bug of the script itself threw */
        ok(false, name, e instanceof Error && e.name !== 'TypeError'
                        && e.name !== 'ReferenceError'
                        ? e.message : (e.stack || String(e)));
        throw new Stop(`stopped after: ${name}`);
    }
}


export async function launch() {
    const dir = process.env.SHIPOFF_BROWSER_TMP
                || mkdtempSync(join(tmpdir(), 'shipoff-browser-'));
    process.env.TMPDIR = dir;
    return chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: FLAGS,
        timeout: 60000,
    });
}


/* a page in a context of its own (its own cookies and storage: another
 * user), every console error, page error and failed request recorded in
 * page.problems */
export async function newPage(browser, options = {}) {
    const context = await browser.newContext(options);
    context.setDefaultTimeout(DEFAULT_TIMEOUT);
    context.setDefaultNavigationTimeout(20000);
    const page = await context.newPage();
    page.problems = [];
    page.on('console', (m) => {
        /* not the page's: chromium drops a request in flight when the
           host's interfaces change, which every sandbox's network
           namespace (veth) started by a test running beside does */
        if (m.type() === 'error'
            && !m.text().includes('net::ERR_NETWORK_CHANGED'))
        {
            page.problems.push(`console: ${m.text()}`);
        }
    });
    page.on('pageerror', (e) => page.problems.push(`page error: ${e}`));
    page.on('response', (r) => {
        if (r.status() >= 400) {
            page.problems.push(`HTTP ${r.status()}: ${r.url()}`);
        }
    });
    return page;
}


/* noProblems(PAGE, WHERE[, EXPECTED]): one test, no console or script
 * error and no HTTP error so far, except those EXPECTED (a regex) matches */
export function noProblems(page, where, expected) {
    const seen = page.problems.filter((p) => !(expected && expected.test(p)));
    ok(seen.length === 0, `${where}: no console, script or HTTP error`,
       seen.join('\n'));
    page.problems.length = 0;
}


/* axe(PAGE, WHERE): axe-core over the page as it is now; one test that
 * fails on any violation of impact serious or critical, all of them
 * printed.  Evaluated through the DevTools protocol, which the page's CSP
 * (script-src 'self') does not govern. */
export async function axe(page, where) {
    const violations = await page.evaluate(async (source) => {
        if (!window.axe) {
            (0, eval)(source);
        }
        const r = await window.axe.run(document,
                                       { resultTypes: ['violations'] });
        return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
        }));
    }, AXE);
    const bad = violations.filter((v) => v.impact === 'serious'
                                         || v.impact === 'critical');
    ok(bad.length === 0,
       `axe: no serious or critical violation on ${where}`,
       bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  at `
                      + v.nodes.join('\n  at ')).join('\n'));
    for (const v of violations.filter((x) => !bad.includes(x))) {
        diag(`axe (${v.impact}) on ${where}: ${v.id}: ${v.help}`);
    }
}


export async function finish(browser) {
    if (browser) {
        await browser.close().catch(() => {});
    }
    console.log(`1..${count}`);
    process.exit(failed || count === 0 ? 1 : 0);
}


/* run(MAIN): MAIN(browser) with the browser launched, the plan printed
 * whatever happened; a Stop ends the script early, not ok already said */
export async function run(main) {
    let browser;
    try {
        browser = await launch();
        await main(browser);
    } catch (e) {
        if (!(e instanceof Stop)) {
            ok(false, 'the script ran to its end', e.stack || String(e));
        } else {
            diag(e.message);
        }
    }
    await finish(browser);
}
