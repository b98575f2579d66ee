# Scale to zero and back, with a short idle_timeout: an app nobody asks
# for is stopped (no process, route sleeping); the next request wakes it
# through nginx's wake module, the API and shipoff:wake, and is answered
# by the app; twenty requests at once to a sleeping app start it once; an
# open long-lived connection (server-sent events) keeps it awake; an app
# adopted after shipoffd's kill -9 is reaped and woken like any other, and
# shipoffd's stop leaves it running too.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use ShipoffTest qw(stack_up http top_dir in_chroot wait_for);
use ShipoffNginx qw(request send_request read_response);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cgroups = "shipoff-t86-$$";
my $s = stack_up(env => { SHIPOFF_IDLE_TIMEOUT          => '3s',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_APP_STOP_GRACE        => '2s',
                          SHIPOFF_STARTUP_TIMEOUT       => '30s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups });

# apps outlive shipoffd (by design): they go once the stack is down
my $top = top_dir();
my $http = $s->port('http');
my $git = ShipoffGit->start;
my $u = $s->signup;
my $name = "sleepy$$";
my $host = "$name.localhost";

sub psql { $s->psql($_[0]) }

sub get {
    my ($path, $timeout) = @_;
    return request($http, 'GET', $path // '/', headers => { Host => $host },
                   timeout => $timeout // 40);
}

# the route as the edge has it now
sub route_state {
    my $res = $s->control(GET => '/_shipoff/routes');
    my ($r) = grep { $_->{host} eq $host } @{ $res->{json}{routes} || [] };
    return $r ? $r->{state} : '';
}

# alive and not a zombie: an adopted app's bwrap is not shipoffd's child,
# and whoever reaps orphans here may take its time
sub running {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh>;
    return $stat !~ /^\d+ \(.*\) Z /;
}

sub app_row {
    return psql("SELECT state || ' ' || coalesce(pid::text, '-')"
                . " FROM app_processes WHERE deployment_id = $_[0]");
}

sub starts {
    my ($dep) = @_;
    return scalar(() = $s->logs =~ /apps: deployment=$dep project=\S+: started pid/g);
}

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, branch => 'main',
                    repo_url => $git->repo('express',
                                           "$top/tests/fixtures/apps/express") });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
my $dep = $res->{json}{id};

ok(wait_for(180, sub { psql("SELECT state FROM deployments WHERE id = $dep")
                           eq 'PRODUCTION' }), 'the express app is deployed');
like(get()->{content}, qr/^express v1/, 'and answers');

# ---- idle: stopped, route sleeping

my ($st, $first) = split / /, app_row($dep);
is($st, 'running', 'it runs');
ok(wait_for(20, sub { app_row($dep) eq 'sleeping -' }),
   'nobody asks for it for idle_timeout: sleeping');
ok(!kill(0, $first), '... its process is gone');
is(route_state(), 'sleeping', '... its route on the edge sleeps');
like($s->logs, qr/deployment=$dep project=\S+: idle: stopping/, '... logged as idle');

# ---- one request wakes it

my $before = starts($dep);
$res = get('/');
is($res->{status}, 200, 'a request to the sleeping app: 200');
like($res->{content}, qr/^express v1/, "... with the app's body");
is(route_state(), 'running', '... its route runs again');
is(starts($dep), $before + 1, '... one start');
like(app_row($dep), qr/^running \d+$/, '... recorded running');

# ---- a wake slower than idle_timeout: the request that woke the app does
# not put it back to sleep (its idle clock starts when it answers)

$res = $s->api(PUT => "/api/v1/projects/$pid/env/START_DELAY_MS", $u,
               { value => '4000' });
ok($res->{status} == 201 || $res->{status} == 200, 'a start that takes 4 s')
    or diag($res->{content});
ok(wait_for(20, sub { app_row($dep) eq 'sleeping -' }), 'asleep again');
$res = get('/');
is($res->{status}, 200, 'the slow wake answers');
sleep 1;
like(app_row($dep), qr/^running \d+$/,
     '... and the app runs on past the 3 s its start took');
$res = $s->api(DELETE => "/api/v1/projects/$pid/env/START_DELAY_MS", $u);
is($res->{status}, 204, 'the start is quick again');

# ---- twenty at once: one start

ok(wait_for(20, sub { app_row($dep) eq 'sleeping -' }), 'asleep again');
$before = starts($dep);
my @socks = map { send_request($http, 'GET', "/?n=$_", headers => { Host => $host }) }
                1 .. 20;
my @codes = map { read_response($_, timeout => 40)->{status} } @socks;
is_deeply(\@codes, [ (200) x 20 ], 'twenty requests to a sleeping app: all 200');
is(starts($dep), $before + 1, '... and exactly one start');

# ---- a long-lived connection keeps it awake

($st, my $awake) = split / /, app_row($dep);
my $stream = send_request($http, 'GET', '/stream',
                          headers => { Host => $host, Accept => 'text/event-stream' });
my $head = read_response($stream, head_only => 1, timeout => 10);
is($head->{status}, 200, 'a server-sent event stream is open');
sleep 8;
is(app_row($dep), "running $awake",
   '... and keeps the app awake past the idle timeout');
close $stream;
ok(wait_for(20, sub { app_row($dep) eq 'sleeping -' }),
   'once it is closed the app goes to sleep');

# ---- an app adopted after shipoffd's kill -9 is reaped all the same

like(get()->{content}, qr/^express v1/, 'woken once more');
my (undef, $adopted) = split / /, app_row($dep);
open my $fh, '<', $s->var . '/run/shipoffd.pid' or die "pid file: $!";
chomp(my $daemon = <$fh>);
close $fh;
kill 'KILL', $daemon;
# its zombie may outlive it for a while: the stack would think it runs
unlink $s->var . '/run/shipoffd.pid';
sleep 0.5;
ok(running($adopted), "shipoffd's kill -9 leaves the app running");
$s->start('shipoffd');
ok(wait_for(10, sub { $s->logs =~ /deployment=$dep project=\S+: adopted pid $adopted/ }),
   'the next shipoffd adopts it');
ok(wait_for(20, sub { app_row($dep) eq 'sleeping -' }), '... and reaps it when idle');
ok(wait_for(5, sub { !running($adopted) }), '... its process is gone');
like(get()->{content}, qr/^express v1/, '... and the next request wakes it');

# ---- a stopped shipoffd (SIGTERM) leaves it running as well

# an open stream keeps it from going to sleep meanwhile
my $keep = send_request($http, 'GET', '/stream',
                        headers => { Host => $host, Accept => 'text/event-stream' });
read_response($keep, head_only => 1, timeout => 10);
my (undef, $kept) = split / /, app_row($dep);
$s->stop('shipoffd');
ok(running($kept), "shipoffd's SIGTERM leaves the app running");
like(get()->{content}, qr/^express v1/, '... and serving');
$s->start('shipoffd');
ok(wait_for(10, sub { $s->logs =~ /deployment=$dep project=\S+: adopted pid $kept/ }),
   '... adopted by the next shipoffd');
close $keep;

# ---- the stack's down (make down) stops the apps as well

$s->down;
ok(wait_for(10, sub { !running($kept) }), 'the stack goes down: the app too');
is(scalar(grep { -d } glob("/sys/fs/cgroup/*/$cgroups"), "/sys/fs/cgroup/$cgroups"),
   0, '... and its cgroups');

done_testing();
