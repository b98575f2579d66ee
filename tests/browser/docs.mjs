/*
 * docs.mjs: /docs/ in a real browser, as a reader uses it.  The index
 * answers under its CSP and runs its script (a blocked script would leave
 * Ctrl+K dead); Ctrl+K opens the search, a word of docs/API.md finds it,
 * Enter or a click goes to the right page and heading; "/" opens the
 * search too and Escape closes it; the theme toggle switches colours.
 * axe-core scans each page, in light and in dark.
 *
 *   SHIPOFF_URL=http://127.0.0.1:PORT  SHIPOFF_DOCS_WORD=word
 *   SHIPOFF_DOCS_HEADING="heading of API.md the word leads to"
 *   node tests/browser/docs.mjs
 */
import * as t from './lib.mjs';

const base = process.env.SHIPOFF_URL;
const word = process.env.SHIPOFF_DOCS_WORD;
const heading = process.env.SHIPOFF_DOCS_HEADING;

await t.run(async (browser) => {
    const page = await t.newPage(browser, { colorScheme: 'light' });
    let csp = '';

    await t.step('/docs/ answers, titled, with one h1', async () => {
        const res = await page.goto(`${base}/docs/`);
        if (res.status() !== 200) {
            throw new Error(`/docs/: HTTP ${res.status()}`);
        }
        csp = res.headers()['content-security-policy'] || '';
        const title = await page.title();
        if (!/Shipoff docs$/.test(title)) {
            throw new Error(`title "${title}"`);
        }
        const h1 = await page.locator('h1').count();
        if (h1 !== 1) {
            throw new Error(`${h1} h1 elements`);
        }
    });
    t.ok(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp),
         "  served with a CSP of script-src 'self'", `CSP: ${csp}`);
    await t.axe(page, '/docs/ (light)');

    await t.step(`Ctrl+K opens the search; "${word}" finds API.md`,
                 async () => {
        await page.keyboard.press('Control+k');
        const input = page.getByLabel('Search', { exact: true });
        await input.waitFor({ state: 'visible' });
        if (!await input.evaluate((el) => el === document.activeElement)) {
            throw new Error('the search field is not focused');
        }
        await input.fill(word);
        await page.getByRole('link', { name: `REST API › ${heading}` })
            .first().waitFor({ state: 'visible' });
    });
    await t.axe(page, '/docs/ with the search open');

    await t.step('the result leads to its page and heading', async () => {
        await page.getByRole('link', { name: `REST API › ${heading}` })
            .first().click();
        await page.waitForURL(/\/docs\/api\.html#/);
        await page.getByRole('heading', { level: 1, name: 'REST API' })
            .waitFor();
        const id = new URL(page.url()).hash.slice(1);
        const text = await page.locator(`[id="${id}"]`).textContent();
        if (text !== heading) {
            throw new Error(`#${id} is "${text}", not "${heading}"`);
        }
        if (await page.locator('dialog[open]').count() !== 0) {
            throw new Error('the search dialog is still open');
        }
    });
    await t.axe(page, '/docs/api.html (light)');

    await t.step('"/" opens the search, Escape closes it, Enter follows '
                 + 'the first result', async () => {
        await page.locator('main').click({ position: { x: 5, y: 5 } });
        await page.keyboard.press('/');
        const input = page.getByLabel('Search', { exact: true });
        await input.waitFor({ state: 'visible' });
        await page.keyboard.press('Escape');
        await input.waitFor({ state: 'hidden' });
        /* at once: the closing dialog's input may still have the focus */
        await page.keyboard.press('/');
        await input.waitFor({ state: 'visible' });
        await page.keyboard.press('Escape');
        await page.keyboard.press('/');
        await input.fill('nginx modules directive');
        await page.getByRole('link', { name: /^nginx modules/ }).first()
            .waitFor();
        await page.keyboard.press('Enter');
        await page.waitForURL(/\/docs\/nginx\.html/);
    });

    await t.step('"Toggle theme" switches light to dark', async () => {
        const bg = () => page.evaluate(
            () => getComputedStyle(document.body).backgroundColor);
        const before = await bg();
        await page.getByRole('button', { name: 'Toggle theme' }).click();
        const after = await bg();
        if (before === after) {
            throw new Error(`background stays ${before}`);
        }
    });
    await t.axe(page, '/docs/nginx.html (toggled dark)');

    const dark = await t.newPage(browser, { colorScheme: 'dark' });
    await t.step('the system\'s dark scheme is followed', async () => {
        await dark.goto(`${base}/docs/api.html`);
        const bg = await dark.evaluate(
            () => getComputedStyle(document.body).backgroundColor);
        if (bg === 'rgb(255, 255, 255)') {
            throw new Error('white background in dark mode');
        }
    });
    await t.axe(dark, '/docs/api.html (dark)');

    t.noProblems(page, 'the light pages');
    t.noProblems(dark, 'the dark page');
});
