/*
 * story.mjs: a newcomer's story through the console, in the browser only
 * (issue 14), against the console's contract (labels, roles, names and
 * paths of /work/briefs/console-contract.md, in docs/ once merged):
 *
 *   sign up (/signup: Name, Email, Password, "Sign up");
 *   create a project through the wizard (/new: Repository, Branch, "Next"
 *   until "Create project"; Name and Subdomain, where they are, filled
 *   with SHIPOFF_PROJECT);
 *   follow its first deployment (/deployments/{id}): the role=log "Build
 *   log" shows lines while it builds, the .badge reaches PRODUCTION;
 *   "Visit" opens the site, which shows SHIPOFF_SITE_TEXT;
 *   /projects/{id}/env: Key, Value (and "Secret" when there is such a
 *   box), "Save": the value shows as "••••••", never in clear, even after
 *   a reload;
 *   "Deploy" again to PRODUCTION, then "Roll back" on the first one, whose
 *   badge reads PRODUCTION again;
 *   /teams: Name, "Create team"; /teams/{id}: Email, "Invite" the second
 *   user, who signed up in another browser context and accepts on
 *   /invitations ("Accept"); the team's page then lists them.
 *
 * Each page is scanned by axe-core (no serious or critical violation).
 * Every wait times out (lib.mjs), so a missing piece fails its step with
 * what was looked for, where.
 *
 *   SHIPOFF_URL  SHIPOFF_REPO_URL  SHIPOFF_PROJECT  SHIPOFF_SITE_TEXT
 *   SHIPOFF_BUILD_TIMEOUT (ms, default 240000)   node tests/browser/story.mjs
 */
import * as t from './lib.mjs';

const base = process.env.SHIPOFF_URL;
const repoUrl = process.env.SHIPOFF_REPO_URL;
const project = process.env.SHIPOFF_PROJECT;
const siteText = process.env.SHIPOFF_SITE_TEXT;
const buildTimeout = Number(process.env.SHIPOFF_BUILD_TIMEOUT || 240000);
const password = 'correct horse battery';
const ann = { name: 'Ann', email: `story-ann-${process.pid}@example.com` };
const bob = { name: 'Bob', email: `story-bob-${process.pid}@example.com` };
const team = `Story team ${process.pid}`;
const secretKey = 'STORY_SECRET';
const secretValue = `s3cret-${process.pid}-value`;
const MASK = '••••••';

const where = (page) => new URL(page.url()).pathname;

/* the first visible element of LOCATOR, or an error naming WHAT and the
 * page's path */
async function find(page, locator, what, timeout, state = 'visible') {
    const first = locator.first();
    try {
        await first.waitFor({ state, timeout });
    } catch (e) {
        throw new Error(`no ${what} on ${where(page)} (waited `
                        + `${(timeout || t.DEFAULT_TIMEOUT) / 1000} s)`);
    }
    return first;
}

const field = (page, label) =>
    find(page, page.getByLabel(label, { exact: true }),
         `field labelled "${label}"`);

const button = (page, name) =>
    find(page, page.getByRole('button', { name, exact: true }),
         `button "${name}"`);

/* a control a user clicks, button or link (in a closed menu: attached) */
const control = (page, name, state) =>
    find(page, page.getByRole('button', { name, exact: true })
        .or(page.getByRole('link', { name, exact: true })),
         `button or link "${name}"`, undefined, state);

async function visible(locator) {
    return (await locator.count()) > 0 && locator.first().isVisible();
}

/* open PATH: the console answers it (History API paths), with a title
 * "<Page> · Shipoff" and one h1 once rendered */
async function open(page, path) {
    const res = await page.goto(base + path);
    if (!res || res.status() !== 200) {
        throw new Error(`${path}: HTTP ${res && res.status()}`);
    }
    await settled(page);
}

async function settled(page) {
    await find(page, page.locator('h1'), 'h1');
    const title = await page.title();
    if (!/ · Shipoff$/.test(title)) {
        throw new Error(`${where(page)}: title "${title}", not `
                        + '"<Page> · Shipoff"');
    }
    const h1 = await page.locator('h1').count();
    if (h1 !== 1) {
        throw new Error(`${where(page)}: ${h1} h1 elements`);
    }
}

/* the text of a role=alert on the page, if any: an API error shown */
async function alertText(page) {
    const alerts = page.getByRole('alert');
    const texts = [];
    for (let i = 0; i < await alerts.count(); i++) {
        const text = (await alerts.nth(i).textContent() || '').trim();
        if (text && await alerts.nth(i).isVisible()) {
            texts.push(text);
        }
    }
    return texts.join('; ');
}

async function signup(page, user) {
    await open(page, '/signup');
    await (await field(page, 'Email')).fill(user.email);
    await (await field(page, 'Password')).fill(password);
    const name = page.getByLabel('Name', { exact: true });
    if (await visible(name)) {
        await name.first().fill(user.name);
    }
    await t.axe(page, '/signup');
    await (await button(page, 'Sign up')).click();
    try {
        await page.waitForURL((u) => !u.pathname.startsWith('/signup'));
    } catch (e) {
        throw new Error(`still on /signup after "Sign up": `
                        + `${await alertText(page) || 'no alert shown'}`);
    }
    await control(page, 'Sign out', 'attached');
}

/* the label texts visible now: what tells one wizard step from another */
const labels = (page) => page.evaluate(() => Array.from(
    document.querySelectorAll('label'))
    .filter((l) => l.offsetParent !== null)
    .map((l) => l.textContent.trim()).join('|'));

/* a field of the wizard's that may be on this step, prefilled from the
 * repository's name: ours wins (the .t finds the project by its name) */
async function fillIfThere(page, label, value) {
    const f = page.getByLabel(label, { exact: true });
    if (await visible(f) && await f.first().isEditable()) {
        await f.first().fill(value);
    }
}

/* the badge's state on a deployment page, once it is one of STATES */
async function badge(page, states, timeout) {
    const re = new RegExp(`^\\s*(${states.join('|')})\\s*$`);
    const b = await find(page, page.locator('.badge').filter({ hasText: re }),
                         `badge reading ${states.join(' or ')}`, timeout);
    return (await b.textContent()).trim();
}

/* the id of a deployment other than those of SEEN that the page is, or
 * links to */
async function deploymentLink(page, seen, timeout) {
    const end = Date.now() + timeout;
    for (;;) {
        const hrefs = [page.url()].concat(
            await page.locator('a[href*="/deployments/"]')
                .evaluateAll((as) => as.map((a) => a.getAttribute('href'))));
        for (const h of hrefs) {
            const m = /\/deployments\/(\d+)/.exec(h);
            if (m && !seen.includes(m[1])) {
                return m[1];
            }
        }
        if (Date.now() > end) {
            return null;
        }
        await page.waitForTimeout(250);
    }
}

/* a click that may ask "are you sure?" in a dialog of the page's own (a
 * native confirm() is accepted by the page's dialog handler) */
async function confirmed(page, name) {
    await (await button(page, name)).click();
    const again = page.getByRole('dialog')
        .getByRole('button', { name, exact: true }).first();
    if (await again.waitFor({ state: 'visible', timeout: 2000 })
        .then(() => true, () => false)) {
        await again.click();
    }
}

/* to PRODUCTION on its page, the live log showing the build meanwhile */
async function watchBuild(page, id) {
    await open(page, `/deployments/${id}`);
    const log = await find(page, page.getByRole('log', { name: 'Build log' }),
                           'role=log "Build log"');
    await find(page, log.filter({ hasText: /\S/ }),
               'line in the build log', buildTimeout);
    const during = await badge(page, ['[A-Z_]+'], 1000);
    const end = await badge(page, ['PRODUCTION', 'FAILED', 'CANCELED'],
                            buildTimeout);
    if (end !== 'PRODUCTION') {
        const text = await log.textContent();
        throw new Error(`deployment ${id} ended ${end}: `
                        + `${await alertText(page)}\n${text.slice(-2000)}`);
    }
    return { during, text: await log.textContent() };
}

await t.run(async (browser) => {
    const a = await t.newPage(browser);
    const b = await t.newPage(browser);
    a.on('dialog', (d) => d.accept());
    let projectId;
    let first;
    let second;
    let build;

    await t.step('Ann signs up on /signup', () => signup(a, ann));
    await t.axe(a, where(a));

    await t.step('the wizard creates the project from the repository',
                 async () => {
        await (await control(a, 'New project')).click();
        await a.waitForURL(/\/new$/);
        await settled(a);
        await (await field(a, 'Repository')).fill(repoUrl);
        await (await field(a, 'Branch')).fill('main');
        let detected = false;
        for (let n = 0; ; n++) {
            await fillIfThere(a, 'Name', project);
            await fillIfThere(a, 'Subdomain', project);
            const fw = a.getByLabel('Framework', { exact: true });
            if (!detected && await visible(fw)) {
                detected = true;
                const value = await fw.first().inputValue()
                    .catch(() => fw.first().textContent());
                t.ok(/vite/i.test(value), '  the wizard detected Vite',
                     `Framework: "${value}"`);
            }
            await t.axe(a, `/new (step ${n + 1})`);
            if (await visible(a.getByRole('button',
                                          { name: 'Create project' }))) {
                break;
            }
            if (n === 8) {
                throw new Error('no "Create project" after 8 steps');
            }
            const before = await labels(a);
            await (await button(a, 'Next')).click();
            try {
                await a.waitForFunction((prev) => Array.from(
                    document.querySelectorAll('label'))
                    .filter((l) => l.offsetParent !== null)
                    .map((l) => l.textContent.trim()).join('|') !== prev,
                    before, { timeout: 15000 });
            } catch (e) {
                throw new Error(`"Next" on step ${n + 1} led nowhere: `
                                + (await alertText(a) || 'no alert shown'));
            }
        }
        await (await button(a, 'Create project')).click();
        try {
            await a.waitForURL(/\/(projects|deployments)\/\d+/,
                               { timeout: 20000 });
        } catch (e) {
            throw new Error('"Create project" did not lead to the project: '
                            + (await alertText(a) || 'no alert shown'));
        }
        await settled(a);
        let m = /\/projects\/(\d+)/.exec(a.url());
        if (m) {
            projectId = m[1];
            first = await deploymentLink(a, [], 10000);
            if (!first) {
                await (await button(a, 'Deploy')).click();
                first = await deploymentLink(a, [], 15000);
            }
        } else {
            first = /\/deployments\/(\d+)/.exec(a.url())[1];
            const p = await find(a, a.locator('a[href*="/projects/"]'),
                                 'link to the project');
            m = /\/projects\/(\d+)/.exec(await p.getAttribute('href'));
            projectId = m && m[1];
        }
        if (!projectId || !first) {
            throw new Error(`project ${projectId}, deployment ${first}`);
        }
        t.diag(`project ${projectId}, first deployment ${first}`);
    });

    await t.step('the live build log, until the badge reads PRODUCTION',
                 async () => {
        build = await watchBuild(a, first);
    });
    t.ok(build.during !== 'PRODUCTION',
         '  the log showed lines while it built',
         `badge ${build.during} at the first line`);
    t.ok(/vite/i.test(build.text), "  the log holds the build's output",
         build.text.slice(-1000));
    await t.axe(a, '/deployments/{id} (PRODUCTION)');

    await t.step('"Visit" opens the live site', async () => {
        await open(a, `/projects/${projectId}`);
        const visit = await find(a, a.getByRole('link', { name: 'Visit' }),
                                 'link "Visit"');
        const href = await visit.getAttribute('href');
        const site = await a.context().newPage();
        await site.goto(href);
        await find(site, site.getByText(siteText),
                   `text "${siteText}" on the site ${href}`);
        await site.close();
    });
    await t.axe(a, '/projects/{id}');

    await t.step('a secret env var is masked after save', async () => {
        await open(a, `/projects/${projectId}/env`);
        if (!await visible(a.getByLabel('Key', { exact: true }))) {
            await (await button(a, 'Add variable')).click();
        }
        await (await field(a, 'Key')).fill(secretKey);
        await (await field(a, 'Value')).fill(secretValue);
        const secret = a.getByLabel('Secret');
        if (await visible(secret)) {
            await secret.first().check();
        }
        await (await button(a, 'Save')).click();
        for (const pass of ['after save', 'after a reload']) {
            if (pass === 'after a reload') {
                await a.reload();
                await settled(a);
            }
            await find(a, a.getByText(secretKey, { exact: true }),
                       `${secretKey} listed ${pass}`);
            await find(a, a.getByText(MASK), `"${MASK}" ${pass}`);
            const shown = await a.evaluate((v) =>
                document.body.innerText.includes(v)
                || Array.from(document.querySelectorAll('input, textarea'))
                    .some((i) => i.value.includes(v)), secretValue);
            if (shown) {
                throw new Error(`the secret's value is on the page ${pass}`);
            }
        }
    });
    await t.axe(a, '/projects/{id}/env');

    await t.step('"Deploy" again: a second deployment to PRODUCTION',
                 async () => {
        await open(a, `/projects/${projectId}`);
        await (await button(a, 'Deploy')).click();
        second = await deploymentLink(a, [first], 15000);
        if (!second) {
            throw new Error('no new deployment after "Deploy"');
        }
        await watchBuild(a, second);
    });

    await t.step('"Roll back" to the first: PRODUCTION again', async () => {
        await open(a, `/deployments/${first}`);
        await confirmed(a, 'Roll back');
        await badge(a, ['PRODUCTION'], 30000);
    });
    await t.axe(a, '/deployments/{id} (rolled back to)');

    await t.step('Bob signs up in another browser context',
                 () => signup(b, bob));

    let teamPath;
    await t.step('Ann creates a team and invites Bob', async () => {
        await open(a, '/teams');
        await t.axe(a, '/teams');
        await (await field(a, 'Name')).fill(team);
        await (await button(a, 'Create team')).click();
        const there = await a.waitForURL(/\/teams\/\d+/, { timeout: 5000 })
            .then(() => true, () => false);
        if (!there) {
            await (await find(a, a.getByRole('link', { name: team }),
                              `link "${team}"`)).click();
            await a.waitForURL(/\/teams\/\d+/);
        }
        await settled(a);
        teamPath = where(a);
        await (await field(a, 'Email')).fill(bob.email);
        await (await button(a, 'Invite')).click();
        await find(a, a.getByText(bob.email), `${bob.email} as invited`);
    });
    await t.axe(a, '/teams/{id}');

    await t.step('Bob accepts on /invitations', async () => {
        await open(b, '/invitations');
        await find(b, b.getByText(team), `the invitation to "${team}"`);
        await t.axe(b, '/invitations');
        await (await button(b, 'Accept')).click();
        await open(b, '/teams');
        await find(b, b.getByRole('link', { name: team }),
                   `link "${team}" among Bob's teams`);
    });

    await t.step("Bob is on the team's page", async () => {
        await open(a, teamPath);
        await find(a, a.getByText(bob.email), `${bob.email} as a member`);
    });

    /* the API answers some 4xx on purpose (a name's availability, a
     * token refreshed); a 5xx, a failed page or a script error is a bug */
    const expected = /^HTTP 4\d\d: .*\/(api|auth)\/|Failed to load resource: the server responded with a status of 4/;
    t.noProblems(a, "Ann's pages", expected);
    t.noProblems(b, "Bob's pages", expected);
});
