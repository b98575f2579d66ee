/*
 * oauth.mjs: "Continue with GitHub" in a real browser, back into the
 * console (issue 14).  62-oauth-console.t runs it against FakeProvider,
 * which sends the browser back to our callback with a code as GitHub does
 * once the user clicks "Authorize":
 *
 *   /signin shows "Continue with GitHub" and "Continue with Google";
 *   a click goes to the provider and back, and the console lands on
 *   /projects signed in (no token in the address bar or the history);
 *   the second login is refused by the platform (the .t makes it so) and
 *   /signin says why, beside the form, in a role=alert.
 *
 *   SHIPOFF_URL  SHIPOFF_REFUSAL (the words the refusal must contain)
 */
import * as t from './lib.mjs';

const base = process.env.SHIPOFF_URL;
const refusal = process.env.SHIPOFF_REFUSAL;

async function continueWithGitHub(page) {
    await page.goto(`${base}/signin`);
    const link = page.getByRole('link', { name: 'Continue with GitHub', exact: true });
    await link.waitFor();
    await page.getByRole('link', { name: 'Continue with Google', exact: true })
        .waitFor();
    await link.click();
}

t.run(async (browser) => {
    const page = await t.newPage(browser);

    await t.step('"Continue with GitHub" comes back signed in', async () => {
        await continueWithGitHub(page);
        await page.waitForURL((u) => u.pathname === '/projects');
        await page.getByRole('button', { name: 'Sign out', exact: true })
            .or(page.getByRole('link', { name: 'Sign out', exact: true }))
            .first().waitFor({ state: 'attached' });
        await page.getByRole('heading', { level: 1 }).waitFor();
    });

    await t.step('no token in the address or the history', async () => {
        const seen = await page.evaluate(() => location.href + ' '
            + history.length);
        if (/shr_|eyJ|code=|state=/.test(seen)) {
            throw new Error(`the address holds a secret: ${seen}`);
        }
    });

    await t.step('a refused login says why on /signin', async () => {
        const other = await t.newPage(browser);
        await continueWithGitHub(other);
        await other.waitForURL((u) => u.pathname === '/signin'
            && u.searchParams.has('error'));
        const alert = other.getByRole('alert');
        await alert.first().waitFor();
        const text = await alert.first().textContent();
        if (!text.includes(refusal)) {
            throw new Error(`the alert says "${text}", not "${refusal}"`);
        }
        await t.axe(other, '/signin?error=... (providers configured)');
    });
});
