# The console's pages the story (97) does not walk through, in a real
# browser (tests/browser/pages.mjs): the projects list's infinite scroll
# and debounced search, API tokens shown once, a project handed over to
# another user who accepts in another browser context, an API error shown
# beside its field, the theme, a 360 px wide screen, the keyboard, and
# (where builds can be sandboxed) a deployment's log: search, Copy,
# Download, ANSI colours; the log search; the new-project wizard walked
# to its end (the framework detected with its mark, a .env pasted, the
# subdomain checked live).  What the pages need is made through the REST
# API first; what the browser did is then asked of PostgreSQL.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up in_chroot wait_for);
use ShipoffGit;
use ShipoffBrowser qw(browser_test);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });
# a transfer reaches only an account whose email is verified (docs/API.md,
# Access) and a password sign-up is not, as no mail is sent yet
$s->psql('ALTER TABLE users ALTER COLUMN email_verified SET DEFAULT true');
my $ann_email = "pages-ann-$$\@example.com";
my $bob_email = "pages-bob-$$\@example.com";
my $ann = $s->signup(email => $ann_email, name => 'Ann');
my $bob = $s->signup(email => $bob_email, name => 'Bob');

# more projects than a page of the list (20), three of which the search
# finds by name, and one to hand over
my @needles = qw(needle-one needle-two needle-three);
my %id;
for my $name ((map { sprintf 'proj-%02d', $_ } 1 .. 42), @needles,
              'handover')
{
    my $res = $s->api(POST => '/api/v1/projects', $ann,
                      { name => $name, branch => 'main',
                        repo_url => "https://git.example.org/ann/$name.git" });
    is($res->{status}, 201, "project $name") or diag($res->{content});
    $id{$name} = $res->{json}{id};
}

# a deployment with a log, where a build can be sandboxed: the plain
# static site, whose build prints ANSI colours and a line to search for
my $deployment = '';
my $wizard_repo = '';
my $wizard_name = "wizard-$$";
my $g;
SKIP: {
    skip 'sandboxed builds need namespaces (not in a chroot), root and'
         . ' bubblewrap', 2
        if in_chroot() || $> != 0 || !-x '/usr/bin/bwrap';
    $g = ShipoffGit->start;
    my $repo = $g->repo('site', 'tests/fixtures/sites/plain');
    $g->commit('site', { 'build.sh' => <<'EOF' }, 'a build with colours');
#!/bin/sh
set -e
echo "building the pages site"
printf '\033[1;32mgreen and bold\033[0m then plain\n'
printf '\033[31mred alone\033[0m\n'
echo "a haystack line to find"
rm -rf public
cp -r site public
echo "done"
EOF
    my $res = $s->api(POST => '/api/v1/projects', $ann,
                      { name => 'site', branch => 'main', repo_url => $repo,
                        kind => 'static', build_cmd => 'sh build.sh',
                        output_dir => 'public' });
    is($res->{status}, 201, 'project site') or diag($res->{content});
    $id{site} = $res->{json}{id};
    $res = $s->api(POST => "/api/v1/projects/$id{site}/deployments",
                   $ann, {});
    my $dep = $res->{json}{id} // 0;
    ok(wait_for(180, sub { $s->psql("SELECT state FROM deployments"
                                    . " WHERE id = $dep") eq 'PRODUCTION' }),
       'its deployment reaches PRODUCTION') or diag($s->log_text($dep));
    $deployment = $dep;
    # the wizard's repository: a PHP app, which detection names
    $wizard_repo = $g->repo('wizard', 'tests/fixtures/apps/php');
}

my $count = $s->psql("SELECT count(*) FROM projects WHERE owner_user_id ="
                     . " $ann->{user}{id}");

local $ENV{SHIPOFF_BROWSER_TIMEOUT} = $ENV{SHIPOFF_BROWSER_TIMEOUT} || 400;
my $passed = browser_test($s, 'tests/browser/pages.mjs',
                          SHIPOFF_ANN_EMAIL => $ann_email,
                          SHIPOFF_BOB_EMAIL => $bob_email,
                          SHIPOFF_PROJECT_COUNT => $count,
                          SHIPOFF_NEEDLE => 'needle',
                          SHIPOFF_NEEDLE_NAMES => join(',', @needles),
                          SHIPOFF_HANDOVER_ID => $id{handover},
                          SHIPOFF_PROJECT_ID => $id{site} // $id{'proj-01'},
                          SHIPOFF_DEPLOYMENT_ID => $deployment,
                          SHIPOFF_WIZARD_REPO => $wizard_repo,
                          SHIPOFF_WIZARD_FRAMEWORK => 'php',
                          SHIPOFF_WIZARD_MARK => 'php',
                          SHIPOFF_WIZARD_NAME => $wizard_name,
                          SHIPOFF_TAKEN_NAME => 'proj-07');

SKIP: {
    skip 'the browser did not get to the end', 3 unless $passed;
    is($s->psql("SELECT owner_user_id FROM projects"
                . " WHERE id = $id{handover}"), $bob->{user}{id},
       'Bob owns the project handed over');
    is($s->psql("SELECT state FROM team_invitations WHERE project_id ="
                . " $id{handover}"), 'accepted',
       '  the offer was accepted');
    is($s->psql("SELECT count(*) FROM api_tokens WHERE user_id ="
                . " $ann->{user}{id} AND revoked_at IS NULL"), 0,
       "the token made in the browser is revoked");
}

# the wizard's project, with the variables of the .env pasted into it
SKIP: {
    skip 'no sandboxed build: the wizard was not walked', 2
        unless $passed && $deployment;
    my $p = $s->psql("SELECT id FROM projects WHERE name = '$wizard_name'"
                     . " AND owner_user_id = $ann->{user}{id}");
    ok($p, "the wizard made $wizard_name");
    is($s->psql("SELECT string_agg(key || '=' || value || ':'"
                . " || secret::text, ',' ORDER BY key) FROM env_vars"
                . " WHERE project_id = " . ($p || 0)),
       'A=1:false,B=two:false,C=x y:false',
       '  with the variables A, B and C of the pasted .env');
}

done_testing;
