/*
 * usage.mjs: a project's Usage tab in the browser (issue 14: "shown as
 * charts in the console").  78-app-usage.t runs it once its app has
 * served requests, restarted, been killed out of memory and woken, so
 * each total the page shows must be at least what the platform counted:
 *
 *   sign in (/signin: Email, Password, "Sign in");
 *   /projects/{id}/usage: the "Usage" tab is current; the totals (Memory
 *   peak, Requests, Cold starts, Restarts, OOM kills); a chart for each
 *   series, an svg role=img labelled in words, its line drawn through the
 *   samples; the "Window" select asks for another window; at 360 px
 *   nothing scrolls sideways; axe-core finds no serious or critical
 *   violation.
 *
 *   SHIPOFF_URL  SHIPOFF_EMAIL  SHIPOFF_PROJECT_ID
 *   SHIPOFF_MIN_REQUESTS  (the other counts are at least 1)
 */
import * as t from './lib.mjs';

const base = process.env.SHIPOFF_URL;
const email = process.env.SHIPOFF_EMAIL;
const id = process.env.SHIPOFF_PROJECT_ID;
const minRequests = Number(process.env.SHIPOFF_MIN_REQUESTS);

/* the number the page shows for the total labelled LABEL */
async function total(page, label) {
    const dd = page.locator('.stats .stat', { hasText: label }).locator('dd');
    await dd.first().waitFor();
    return (await dd.first().textContent()).trim();
}

async function atLeast(page, label, want) {
    const got = await total(page, label);
    if (!(Number(got) >= want)) {
        throw new Error(`${label}: the page shows "${got}", the platform `
                        + `counted at least ${want}`);
    }
}

t.run(async (browser) => {
    const page = await t.newPage(browser);

    await t.step('signs in', async () => {
        await page.goto(`${base}/signin`);
        await page.getByLabel('Email', { exact: true }).fill(email);
        await page.getByLabel('Password', { exact: true })
            .fill('correct horse battery');
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.waitForURL((u) => u.pathname === '/projects');
    });

    await t.step('the Usage tab shows the totals the platform counted',
        async () => {
            await page.goto(`${base}/projects/${id}/usage`);
            await page.getByRole('heading', { level: 1, name: /^Usage of / })
                .waitFor();
            const tab = page.getByRole('link', { name: 'Usage', exact: true });
            if (await tab.getAttribute('aria-current') !== 'page') {
                throw new Error('the Usage tab is not the current one');
            }
            if (!/^[0-9.]+ (B|KB|MB|GB)$/.test(await total(page, 'Memory peak'))) {
                throw new Error('Memory peak is not a size');
            }
            await atLeast(page, 'Requests', minRequests);
            await atLeast(page, 'Cold starts', 1);
            await atLeast(page, 'Restarts', 1);
            await atLeast(page, 'OOM kills', 1);
        });

    await t.step('a chart for each series, labelled in words, drawn', async () => {
        const plots = page.locator('svg.plot[role="img"]');
        const keys = await plots.evaluateAll((all) => all.map((s) => [
            s.dataset.key, s.getAttribute('aria-label'),
            s.querySelector('path.line').getAttribute('d')]));
        const want = ['memory_bytes', 'requests', 'cpu_seconds', 'wakes'];
        if (JSON.stringify(keys.map((k) => k[0])) !== JSON.stringify(want)) {
            throw new Error(`charts ${keys.map((k) => k[0])}, want ${want}`);
        }
        for (const [key, label, d] of keys) {
            if (!/: .*\d/.test(label || '')) {
                throw new Error(`${key}: label "${label}" says no number`);
            }
            if ((d.match(/[ML]/g) || []).length < 2
                || !/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$/.test(d)) {
                throw new Error(`${key}: line "${d}"`);
            }
        }
        const req = keys.find((k) => k[0] === 'requests')[1];
        const n = Number((req.match(/: (\d+) in all/) || [])[1]);
        if (!(n >= minRequests)) {
            throw new Error(`Requests chart: "${req}", want at least ${minRequests}`);
        }
    });
    await t.axe(page, '/projects/{id}/usage');

    await t.step('"Window": the last 7 days, asked of the API', async () => {
        const asked = page.waitForRequest((r) => /\/usage\?since=/.test(r.url()));
        await page.getByLabel('Window', { exact: true }).selectOption('604800');
        const since = new URL((await asked).url()).searchParams.get('since');
        const days = (Date.now() - Date.parse(since)) / 86400000;
        if (!(days > 6.9 && days < 7.1)) {
            throw new Error(`since=${since}: ${days} days ago`);
        }
        await page.locator('svg.plot').first().waitFor();
    });

    await t.step('at 360 px wide nothing scrolls sideways', async () => {
        await page.setViewportSize({ width: 360, height: 740 });
        const wide = await page.evaluate(() =>
            document.documentElement.scrollWidth);
        if (wide > 360) {
            throw new Error(`the page is ${wide} px wide`);
        }
    });
    await t.axe(page, '/projects/{id}/usage (360 px)');
});
