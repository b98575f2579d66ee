# The whole story, as a person lives it (issue 7; the README's tour shows
# the same steps): on the real stack, with repositories served over HTTP by
# git http-backend, a newcomer signs up with the CLI, creates a static
# project from a Vite SPA repository, pushes, and GitHub's webhook (signed
# as GitHub signs, by a stand-in for GitHub) deploys it: the build logs
# stream, the site answers at <name>.localhost with SPA fallback and
# immutable asset headers.  A broken push fails and the site keeps
# serving; `shipoff rollback` puts an earlier version back at once.  Then a
# dynamic Express project goes live, sleeps when idle (its process gone),
# wakes on one request, and every project deleted leaves nothing running
# and nothing on disk.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use ShipoffTest qw(stack_up http run top_dir json_encode json_decode wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffCli;

plan skip_all => 'sandboxed builds need namespaces (not in a chroot)'
    if ShipoffTest::in_chroot();

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000,
                          SHIPOFF_IDLE_TIMEOUT => '3s',
                          SHIPOFF_REAP_INTERVAL => '1s' });
my $g = ShipoffGit->start;
my $cli = ShipoffCli->new($s);
my $http = $s->port('http');
my $var = $s->var;

sub ok_run {
    my ($r, $name) = @_;
    is($r->{rc}, 0, "$name: exit 0")
        or diag("stdout: $r->{out}\nstderr: $r->{err}");
    return $r;
}

# site(NAME, PATH): a request to NAME.localhost through nginx
sub site {
    my ($name, $path) = @_;
    return request($http, 'GET', $path // '/',
                   headers => { Host => "$name.localhost" });
}

# github_push(PROJECT, REPO, SHA): what GitHub sends on a push to main,
# signed with the project's webhook secret; answers the response
my $deliveries = 0;

sub github_push {
    my ($p, $repo, $sha) = @_;
    my $url = $g->url($repo);
    open my $fh, '<', top_dir() . '/tests/fixtures/github/push.json'
        or die $!;
    my $push = json_decode(do { local $/; <$fh> });
    close $fh;
    $push->{after} = $sha;
    $push->{head_commit}{id} = $sha;
    $push->{repository}{$_} = $url for qw(clone_url html_url url svn_url);
    # owner/name: the last two parts of the path
    ($push->{repository}{full_name}) = $url =~ m{([^/]+/[^/]+?)(?:\.git)?$};
    my $body = json_encode($push);
    $deliveries++;
    return http(POST => $s->url('/hooks/github'), $body,
                { 'Content-Type' => 'application/json',
                  'X-GitHub-Event' => 'push',
                  'X-GitHub-Delivery' => "story-$$-$deliveries",
                  'X-Hub-Signature-256' =>
                      'sha256=' . hmac_sha256_hex($body, $p->{secret}) });
}

# deployed(PROJECT, DEPLOYMENT): its final state, following the build's
# log stream with `shipoff logs -f` meanwhile
sub deployed {
    my ($p, $id) = @_;
    return 'NONE' unless $id;
    my $state = wait_for(600, sub {
        my $r = $s->api(GET => "/api/v1/deployments/$id", $p->{user});
        my $st = $r->{json} && $r->{json}{state} // '';
        return $st =~ /^(PRODUCTION|FAILED|CANCELED)$/ ? $st : undef;
    });
    return $state // 'TIMEOUT';
}

# ---- a newcomer: signup from the CLI

my $email = "story-$$\@example.com";
ok_run($cli->run({ stdin => "correct horse battery\n" }, 'signup',
                 '--email', $email, '--name', 'Ann', '--password-stdin'),
       'shipoff signup');
my $who = ok_run($cli->run('whoami', '--json'), 'shipoff whoami');
is($who->{json} && $who->{json}{email}, $email, '  logged in as the new user');

my $login = http(POST => $s->url('/auth/v1/login'),
                 { email => $email, password => 'correct horse battery' });
my $user = $login->{json};

# ---- a static project from a Vite SPA repository, deployed by a push

my $site = "story$$";
my $site_url = $g->repo('site', 'tests/fixtures/sites/vite');
my $r = ok_run($cli->run('projects', 'create', $site, '--repo', $site_url,
                         '--json'), 'shipoff projects create');
my %site = (id => $r->{json}{id}, secret => $r->{json}{webhook_secret},
            user => $user);
ok($site{id} && $site{secret}, '  the project, its webhook secret shown once');

# index.html with a version mark: what is served tells which is live
sub version {
    my ($v) = @_;
    open my $fh, '<', top_dir() . '/tests/fixtures/sites/vite/index.html'
        or die $!;
    my $html = do { local $/; <$fh> };
    $html =~ s{</h1>}{</h1>\n<p id="version">$v</p>};
    return { 'index.html' => $html };
}

my $v1 = $g->commit('site', version('v1'), 'v1');
my $hook = github_push(\%site, 'site', $v1);
is($hook->{status}, 202, 'git push: the webhook is accepted')
    or diag $hook->{content};
my ($d1) = @{ $hook->{json}{deployments} || [] };
ok($d1, '  it queued a deployment') or diag $hook->{content};

# the build's log, live: `shipoff logs -f` follows it to its end
my $tail = $cli->start('logs', $d1, '-f');
is(deployed(\%site, $d1), 'PRODUCTION', 'the push is live');
my $followed = $cli->finish($tail);
is($followed->{rc}, 0, 'shipoff logs -f: ends with the build, exit 0')
    or diag $followed->{err};
like($followed->{out}, qr/vite/i, '  it streamed the build (vite ran)');
like($followed->{out}, qr/built in|dist\/index\.html/,
     '  to the end of the build');

my $home = site($site, '/');
is($home->{status}, 200, "http://$site.localhost/ answers");
like($home->{content}, qr/<div id="app">/, '  with the built page');
like($home->{content}, qr/>v1</, '  of v1');
my $deep = site($site, '/some/client/route');
is($deep->{status}, 200, '  SPA fallback: a client route answers');
is($deep->{content}, $home->{content}, '  with index.html');
like($home->{headers}{'cache-control'} // '', qr/no-cache/,
     '  HTML: no-cache');
my ($asset) = $home->{content} =~ m{src="(/assets/[^"]+\.js)"};
ok($asset, '  a fingerprinted asset') or diag $home->{content};
my $js = site($site, $asset // '/');
is($js->{status}, 200, "  $asset answers");
like($js->{headers}{'cache-control'} // '', qr/max-age=31536000, immutable/,
     '  immutable');

# a second version, then a broken push: FAILED, v2 keeps serving
my $v2 = $g->commit('site', version('v2'), 'v2');
my ($d2) = @{ github_push(\%site, 'site', $v2)->{json}{deployments} || [] };
is(deployed(\%site, $d2), 'PRODUCTION', 'v2 is live');
my $v2_home = site($site, '/')->{content};
like($v2_home, qr/>v2</, '  v2 is served');

my $broken = $g->commit('site',
                        { 'src/main.js' => "import x from './missing.js';\n" },
                        'a broken build');
my ($d3) = @{ github_push(\%site, 'site', $broken)->{json}{deployments} || [] };
is(deployed(\%site, $d3), 'FAILED', 'a broken push: FAILED');
like($s->psql("SELECT reason FROM deployments WHERE id = $d3"), qr/^build_failed\b/,
   '  build_failed');
is(site($site, '/')->{content}, $v2_home, '  v2 still served');

# rollback to v1: instant, no build
$r = ok_run($cli->run('rollback', $d1, '--project', $site, '--json'),
            'shipoff rollback');
ok(wait_for(30, sub { site($site, '/')->{content} eq $home->{content} }),
   '  v1 is served again');
is($s->psql("SELECT state FROM deployments WHERE id = $d1"), 'PRODUCTION',
   '  v1 is PRODUCTION');
is($s->psql("SELECT count(*) FROM deployments WHERE project_id = $site{id}"),
   3, '  without a new build');

# a manual deploy from the terminal follows the build's log: the head is
# still the broken commit, so it fails, says why, and v1 keeps serving
$r = $cli->run('deploy', '--project', $site, '--wait');
is($r->{rc}, 1, 'shipoff deploy --wait of a broken head: exit 1');
like($r->{out}, qr/missing\.js/, "  the build's own error, streamed");
like($r->{err}, qr/FAILED: build_failed/, '  and how it ended');
like(site($site, '/')->{content}, qr/>v1</, '  v1 still served');

# ---- a dynamic Express app: live, asleep when idle, woken by a request

my $app = "storyapp$$";
my $app_url = $g->repo('app', 'tests/fixtures/apps/express');
$r = ok_run($cli->run('projects', 'create', $app, '--repo', $app_url,
                      '--json'), 'shipoff projects create (Express)');
my %app = (id => $r->{json}{id}, secret => $r->{json}{webhook_secret},
           user => $user);
my $a1 = $g->commit('app', { 'version.txt' => "story\n" }, 'story');
my ($ad) = @{ github_push(\%app, 'app', $a1)->{json}{deployments} || [] };
is(deployed(\%app, $ad), 'PRODUCTION', 'the Express app is live');
is($s->psql("SELECT kind || ' ' || framework FROM deployments"
            . " WHERE id = $ad"), 'dynamic express', '  detected: express');
my $res = site($app, '/');
is($res->{status}, 200, "http://$app.localhost/ answers");
like($res->{content}, qr/^express story pid (\d+)/, '  from the app');
my ($app_pid) = $s->psql("SELECT pid FROM app_processes"
                         . " WHERE deployment_id = $ad") =~ /(\d+)/;
ok($app_pid && kill(0, $app_pid), '  its process runs');

# idle past the (short) idle timeout: scaled to zero
ok(wait_for(30, sub { $s->psql("SELECT state FROM app_processes"
                                 . " WHERE deployment_id = $ad") eq 'sleeping' }),
   'idle: scaled to zero');
ok(wait_for(10, sub { !kill(0, $app_pid) }), '  its process is gone');

# one request wakes it, and is answered
$res = site($app, '/');
is($res->{status}, 200, 'one request to the sleeping app: 200');
like($res->{content}, qr/^express story/, '  answered by the woken app');
is($s->psql("SELECT state FROM app_processes WHERE deployment_id = $ad"),
   'running', '  it runs again');

# ---- delete both: nothing left running or on disk

($app_pid) = $s->psql("SELECT pid FROM app_processes"
                      . " WHERE deployment_id = $ad") =~ /(\d+)/;
for ([$site, $site{id}], [$app, $app{id}]) {
    my ($name, $id) = @$_;
    ok_run($cli->run('projects', 'delete', $name, '--yes'),
           "shipoff projects delete $name");
    ok(wait_for(30, sub { site($name, '/')->{status} == 404 }),
       '  it is gone (404)');
    ok(wait_for(30, sub { !-e "$var/sites/$id" && !-e "$var/apps/$id" }),
       '  its artifacts are gone');
}
ok(wait_for(30, sub { !kill(0, $app_pid) }), "  the app's process is gone");
is($s->psql("SELECT count(*) FROM app_processes WHERE project_id = $app{id}"),
   0, '  and so is its record');

done_testing;
