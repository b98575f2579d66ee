/*
 * logic.mjs: the console's logic that needs no browser, as TAP: a pasted
 * .env file, ANSI escapes stripped from a log line, and which deployment
 * actions each state allows (the API's state machine, docs/API.md), and
 * the usage charts' scale and lines.
 * Run by tests/integration/96-console-logic.t.
 */
import { parseDotenv } from '../../console/src/dotenv.js';
import { stripAnsi } from '../../console/src/ansi.js';
import { ACTIONS } from '../../console/src/deploy.js';
import { niceMax, series, bytes } from '../../console/src/chart.js';

let n = 0;
let failed = 0;

function is(got, want, name) {
    const ok = JSON.stringify(got) === JSON.stringify(want);
    n += 1;
    console.log(`${ok ? '' : 'not '}ok ${n} - ${name}`);
    if (!ok) {
        failed += 1;
        console.log(`# got:  ${JSON.stringify(got)}\n# want: ${JSON.stringify(want)}`);
    }
}

is(parseDotenv('A=1\n# comment\n\nexport B = two\nC="x y"\nD=\'q\'\n'
    + 'E="a\\nb"\nF=v # note\n1BAD=x\nno equals\nG=\r\n'),
   [{ key: 'A', value: '1' }, { key: 'B', value: 'two' },
    { key: 'C', value: 'x y' }, { key: 'D', value: 'q' },
    { key: 'E', value: 'a\nb' }, { key: 'F', value: 'v' },
    { key: 'G', value: '' }],
   'a .env file: export, quotes, comments; bad names skipped');
is(parseDotenv('URL=https://x.org/#frag\nH="#not a comment"'),
   [{ key: 'URL', value: 'https://x.org/#frag' },
    { key: 'H', value: '#not a comment' }],
   'a # without a space before it is part of the value');

is(stripAnsi('\x1b[1m\x1b[32mok\x1b[0m done'), 'ok done', 'SGR colours removed');
is(stripAnsi('a\x1b[2Kb\x1b]0;title\x07c\x1b[?25ld'), 'abcd',
   'cursor, OSC title and private modes removed');
is(stripAnsi('<script>x</script>'), '<script>x</script>',
   'markup stays text (the page makes text nodes of it)');

const states = ['QUEUED', 'BUILDING', 'PROVISIONING', 'PRODUCTION', 'INACTIVE',
    'FAILED', 'CANCELED'];
const allowed = (label, d) => ACTIONS.find((a) => a.label === label).allowed(d);
const which = (label, kept) => states.filter((s) =>
    allowed(label, { state: s, artifact_kept: kept }));
is(which('Redeploy', true), ['INACTIVE', 'FAILED', 'CANCELED'], 'Redeploy');
is(which('Roll back', true), ['INACTIVE'], 'Roll back: an INACTIVE kept build');
is(which('Roll back', false), [], 'Roll back: never without the build');
is(which('Cancel deployment', true), ['QUEUED', 'BUILDING'], 'Cancel deployment');
is(which('Delete', true), ['INACTIVE', 'FAILED', 'CANCELED'],
   'Delete: never PRODUCTION');
is(ACTIONS.every((a) => a.rule.length > 10), true,
   'every action says its rule when disabled');

is([0, 0.3, 1, 7, 10, 11, 180, 1023].map(niceMax), [1, 0.5, 1, 10, 10, 20, 200, 2000],
   'a chart\'s scale: 1, 2 or 5 times a power of ten at or above the peak');
is(series([{ m: 0 }, { m: 50 }, { m: 100 }], 'm'),
   { max: 100, peak: 100, total: 150, d: 'M0 120 L300 60 L600 0' },
   'a series spans the width, 0 at the bottom and the scale at the top');
is(series([{ m: 4 }], 'm').d, 'M0 24 L600 24', 'one sample: a flat line');
is(series([{ m: null }, {}], 'm'), { max: 1, peak: 0, total: 0, d: 'M0 120 L600 120' },
   'missing values count as 0');
is([0, 1023, 1024, 1536, 41943040, 5 * 2 ** 30].map(bytes),
   ['0 B', '1023 B', '1.0 KB', '1.5 KB', '40 MB', '5.0 GB'], 'bytes in words');

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
