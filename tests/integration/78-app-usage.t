# A running app's usage (GET /projects/:id/usage, and Prometheus text on
# nginx's control socket), from shipoffd's samples every reap_interval:
# memory in use, requests counted after N requests, a restart after a
# crash, an OOM kill after the app outgrows its memory, a cold start after
# a sleep; 422 for a bad window, 404 for another user; then the console's
# Usage tab in a real browser shows those totals as charts
# (tests/browser/usage.mjs).

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up top_dir in_chroot wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffBrowser qw(browser_test);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cgroups = "shipoff-t78-$$";
my $s = stack_up(env => { SHIPOFF_IDLE_TIMEOUT          => '5s',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_APP_STOP_GRACE        => '2s',
                          SHIPOFF_RECONCILE_INTERVAL    => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

my $http = $s->port('http');
my $git = ShipoffGit->start;
my $email = "usage-$$\@example.com";
my $u = $s->signup(email => $email);
my $other = $s->signup;
my $name = "usage$$";

sub get {
    return request($http, 'GET', $_[0],
                   headers => { Host => "$name.localhost" }, timeout => 10);
}

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, branch => 'main',
                    repo_url => $git->repo('logger', top_dir()
                                           . '/tests/fixtures/apps/logger') });
is($res->{status}, 201, 'the project') or diag($res->{content});
my $pid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
my $dep = $res->{json}{id};
ok(wait_for(120, sub { $s->psql("SELECT state FROM deployments"
                                . " WHERE id = $dep") eq 'PRODUCTION' }),
   'PRODUCTION') or diag($s->log_text($dep));

my $usage;
sub usage {
    my $r = $s->api(GET => "/api/v1/projects/$pid/usage", $u);
    $usage = $r->{status} == 200 ? $r->{json} : undef;
    return $usage;
}

# wait_usage(NAME, CODE): until CODE is true of the usage
sub wait_usage {
    my ($what, $code) = @_;
    ok(wait_for(30, sub { usage() && $code->($usage) }), $what)
        or diag(explain($usage));
}

wait_usage('the running app uses memory',
           sub { ($_[0]{current}{memory_bytes} // 0) > 0 });
is($usage->{current}{deployment_id}, $dep, '  its deployment');
is($usage->{current}{state}, 'running', '  running');
ok($usage->{current}{memory_peak_bytes} >= $usage->{current}{memory_bytes},
   '  its peak is no less');
ok(@{ $usage->{points} } > 0, '  points to chart');
like($usage->{totals}{cpu_seconds}, qr/^[0-9.e+-]+$/, '  CPU seconds');

# the edges' count is noted once before it is counted
sleep 3;
my $before = usage()->{totals}{requests};
is(get("/r$_")->{status}, 200, "request $_") for 1 .. 5;
wait_usage('5 requests counted',
           sub { $_[0]{totals}{requests} - $before >= 5 });

is(get('/crash')->{status}, 200, 'GET /crash');
wait_usage('the restart counted', sub { $_[0]{totals}{restarts} >= 1 });

ok(wait_for(30, sub { get('/')->{status} == 200 }), 'it answers again');
is(get('/hog')->{status}, 200, 'GET /hog');
wait_usage('the OOM kill counted', sub { $_[0]{totals}{oom_kills} >= 1 });

ok(wait_for(40, sub { $s->psql("SELECT count(*) FROM log_lines"
                               . " WHERE deployment_id = $dep AND line ="
                               . " 'the app sleeps until a request wakes it'")
                      > 0 }), 'idle: asleep');
ok(wait_for(30, sub { get('/woken')->{status} == 200 }), 'a request wakes it');
wait_usage('the cold start counted', sub { $_[0]{totals}{wakes} >= 1 });

# ---- Prometheus text on nginx's control socket

$res = $s->control(GET => '/_shipoff/metrics/apps');
is($res->{status}, 200, 'metrics: 200');
like($res->{headers}{'content-type'}, qr{^text/plain}, '  text');
like($res->{content}, qr/^# TYPE shipoff_app_requests_total counter$/m,
     '  typed');
like($res->{content},
     qr/^shipoff_app_requests_total\{project="\Q$name\E",deployment="$dep"\} (\d+)$/m,
     '  the app\'s requests');
like($res->{content}, qr/^shipoff_app_oom_kills_total\{project="\Q$name\E",[^}]*\} [1-9]/m,
     '  its OOM kills');
is($s->api(GET => '/_internal/metrics')->{status}, 404,
   '  not on the public address');

# ---- the window, authorization

$res = $s->api(GET => "/api/v1/projects/$pid/usage?since=2000-01-01T00:00:00Z", $u);
is($res->{status}, 200, 'since: an old time is fine');
ShipoffTest::error_is($s->api(GET => "/api/v1/projects/$pid/usage?since=yesterday", $u),
                      422, 'validation_failed', 'since: not a time', 'since');
is($s->api(GET => "/api/v1/projects/$pid/usage", $other)->{status}, 404,
   'another user: 404');

# ---- the console's Usage tab, in a real browser

browser_test($s, 'tests/browser/usage.mjs',
             SHIPOFF_EMAIL => $email, SHIPOFF_PROJECT_ID => $pid,
             SHIPOFF_MIN_REQUESTS => usage()->{totals}{requests});

done_testing;
