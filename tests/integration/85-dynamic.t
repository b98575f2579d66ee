# Dynamic apps end to end through the real daemon: pushed to a git server
# over HTTP, queued, built in the sandbox, started by shipoffd's
# supervisor on a free port, health-checked, routed and promoted; each
# answers through nginx on <name>.localhost.  Then what a supervisor is
# for: an app that never listens fails startup_timeout and leaves nothing
# running, one that runs out of memory fails oom; a crash in production
# is restarted; a second deploy switches with no failed request from a
# client looping meanwhile, and the old process is gone after the drain;
# a rollback starts the kept artifact; shipoffd's kill -9 leaves the app
# serving and the next shipoffd adopts it; a deleted project leaves no
# process and no file behind.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);
use ShipoffTest qw(stack_up top_dir in_chroot wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffApps qw(app_procs);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cgroups = "shipoff-t85-$$";
my $s = stack_up(env => { SHIPOFF_STARTUP_TIMEOUT       => '15s',
                          SHIPOFF_APP_DRAIN             => '2s',
                          SHIPOFF_APP_STOP_GRACE        => '2s',
                          SHIPOFF_RECONCILE_INTERVAL    => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

# apps outlive shipoffd (by design): they go once the stack is down
my $top = top_dir();
my $http = $s->port('http');
my $var = $s->var;
my $git = ShipoffGit->start;
my $u = $s->signup;

sub psql { $s->psql($_[0]) }

my %final = map { $_ => 1 } qw(PRODUCTION INACTIVE FAILED CANCELED);

sub state_of { psql("SELECT state FROM deployments WHERE id = $_[0]") }

sub wait_final {
    my ($id, $secs) = @_;
    my $st;
    wait_for($secs // 120, sub { $st = state_of($id); $final{$st} });
    return $st;
}

sub project {
    my ($name, $repo, %more) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => $name, repo_url => $repo, branch => 'main',
                        %more });
    die "project $name: $res->{status} $res->{content}"
        unless $res->{status} == 201;
    return $res->{json}{id};
}

sub env_set {
    my ($pid, $key, $value, $secret) = @_;
    my $res = $s->api(PUT => "/api/v1/projects/$pid/env/$key", $u,
                      { value => $value, target => 'runtime',
                        $secret ? (secret => \1) : () });
    die "env $key: $res->{status} $res->{content}"
        unless $res->{status} == 201 || $res->{status} == 200;
}

sub deploy {
    my ($pid) = @_;
    my $res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
    die "deploy: $res->{status} $res->{content}" unless $res->{status} == 202;
    return $res->{json}{id};
}

sub get {
    my ($name, $path) = @_;
    return request($http, 'GET', $path // '/',
                   headers => { Host => "$name.localhost" }, timeout => 10);
}

# the app's process: bwrap's pid as app_processes has it
sub app_pid {
    return psql("SELECT pid FROM app_processes WHERE deployment_id = $_[0]"
                . " AND state = 'running'");
}

sub cgroup_procs { app_procs($cgroups, $_[0]) }

sub cmdline {
    open(my $f, '<', "/proc/$_[0]/cmdline") or return ();
    local $/;
    return (<$f> // '') =~ tr/\0/ /r;
}

sub shipoffd_pid {
    open my $fh, '<', "$var/run/shipoffd.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub log_text {
    my ($dep) = @_;
    return join "\n", split /\n/,
        psql("SELECT line FROM log_lines WHERE deployment_id = $dep"
             . " ORDER BY id");
}

# ---- each runtime reaches PRODUCTION and answers through nginx

my $secret = 'sekrit-' . join '', map { chr(97 + int rand 26) } 1 .. 20;

# server: what runs it, by the command lines in the app's cgroup (the
# production servers of docs/DETECT.md where the host has them)
my %apps = (
    express => { fixture => 'express', body => qr/^express v1 pid \d+$/ },
    flask   => { fixture => 'flask',   body => qr/^flask says hello flask$/,
                 server => qr/-m gunicorn --bind \S+ app:app/ },
    php     => { fixture => 'php',     body => qr/^php says hello php$/ },
    starlette => { fixture => 'starlette',
                   body => qr/^starlette says hello starlette$/,
                   server => qr/-m uvicorn main:app --host \S+ --port \d+/ },
);

for my $kind (sort keys %apps) {
    my $a = $apps{$kind};
    $a->{name} = "$kind$$";
    $a->{url} = $git->repo($kind, "$top/tests/fixtures/apps/$a->{fixture}");
    $a->{pid} = project($a->{name}, $a->{url});
    env_set($a->{pid}, 'GREETING', "hello $kind");
    env_set($a->{pid}, 'API_SECRET', $secret, 1);
    $a->{dep} = deploy($a->{pid});
}

for my $kind (sort keys %apps) {
    my $a = $apps{$kind};
    is(wait_final($a->{dep}), 'PRODUCTION', "$kind: PRODUCTION")
        or diag(log_text($a->{dep}));
    is(psql("SELECT kind, artifact_path FROM deployments"
            . " WHERE id = $a->{dep}"),
       "dynamic|$var/apps/$a->{pid}/$a->{dep}",
       "$kind: a dynamic artifact under var/apps");
    my $res = get($a->{name});
    is($res->{status}, 200, "$kind: answers through nginx");
    like($res->{content} // '', $a->{body}, "$kind: with its own body and env");
    is(psql("SELECT state FROM app_processes WHERE deployment_id = $a->{dep}"),
       'running', "$kind: its process is recorded running");
    next unless $a->{server};
    my @cmd = map { cmdline($_) } cgroup_procs($a->{dep});
    ok((grep { $_ =~ $a->{server} } @cmd), "$kind: served by $a->{server}")
        or diag(explain(\@cmd));
}

# an ASGI app takes a JSON body through nginx
is(request($http, 'POST', '/echo',
           headers => { Host => "$apps{starlette}{name}.localhost",
                        'Content-Type' => 'application/json' },
           body => '{"n":7}', timeout => 10)->{content} // '',
   '{"got":{"n":7}}', 'starlette: a JSON body through nginx');


my $ex = $apps{express};
my $res = get($ex->{name}, '/env');
is($res->{json}{secret}, $secret, 'the secret reaches the app');
is($res->{json}{home}, '/tmp', 'HOME is the private /tmp');
like($res->{json}{port}, qr/^\d+$/, 'PORT is set');

ok(wait_for(5, sub { log_text($ex->{dep}) =~ /starting version v1 with secret \*\*\*\*/ }),
   "the app's stdout reaches the deployment's log, masked");
unlike(log_text($ex->{dep}) . join('', map { log_text($_->{dep}) } values %apps),
       qr/\Q$secret\E/, 'the secret is never in log_lines');
like(log_text($ex->{dep}), qr/listening on \d+/, '... stdout lines, line by line');
unlike($s->logs, qr/\Q$secret\E/, "... nor in any of the stack's logs");
my $routes = do { local (@ARGV, $/) = "$var/routes.json"; <> };
like($routes, qr/"\Q$ex->{name}.localhost\E":\{[^}]*"kind":"dynamic"[^}]*"state":"running"/,
     'routes.json has the dynamic route, running');

# ---- startup_timeout: an app that never listens

my $bad_name = "broken$$";
my $bad_pid = project($bad_name,
                      $git->repo('broken', "$top/tests/fixtures/apps/broken"));
my $bad = deploy($bad_pid);
is(wait_final($bad), 'FAILED', 'an app that never listens: FAILED');
is(psql("SELECT reason FROM deployments WHERE id = $bad"), 'startup_timeout',
   '... startup_timeout');
is(scalar(cgroup_procs($bad)), 0, '... no process of it is left');
ok(!-e "$var/apps/$bad_pid/$bad", '... nor its artifact');
is(psql("SELECT count(*) FROM app_processes WHERE deployment_id = $bad"), 0,
   '... nor its row');
like(log_text($bad), qr/pretending to start/, "... its output is in its log");

# ---- out of memory while starting

my $hog_pid = project("hog$$",
                      $git->repo('hog', "$top/tests/fixtures/apps/hog"));
my $hog = deploy($hog_pid);
is(wait_final($hog), 'FAILED', 'an app that runs out of memory: FAILED');
is(psql("SELECT reason FROM deployments WHERE id = $hog"), 'oom', '... oom');
is(scalar(cgroup_procs($hog)), 0, '... no process of it is left');
like(log_text($hog), qr/ran out of memory/, '... and its log says so');

# ---- a crash in production: restarted

my $pid1 = app_pid($ex->{dep});
ok($pid1, 'the express app runs');
$res = get($ex->{name}, '/crash');
is($res->{status}, 200, 'GET /crash answered');
ok(wait_for(15, sub { my $p = app_pid($ex->{dep}); $p && $p ne $pid1 }),
   'a crashed app is started again');
ok(wait_for(10, sub { (get($ex->{name})->{content} // '') =~ /^express v1/ }),
   '... and answers again');
like(log_text($ex->{dep}), qr/restarting the app in 1 s \(restart 1\)/,
     '... the restart is in its log');
like(log_text($ex->{dep}), qr/^the app crashed: exit 1$/m,
     '... with the exit code');
is(psql("SELECT string_agg(DISTINCT stream, ',') FROM log_lines"
        . " WHERE deployment_id = $ex->{dep} AND line = 'crashing on request'"),
   'stderr', "... and the app's stderr as stream stderr");
is(state_of($ex->{dep}), 'PRODUCTION', '... still PRODUCTION');

# ---- a second deploy: a switch without a failed request

my $old_dep = $ex->{dep};
my $old_pid = app_pid($old_dep);
$git->commit('express', { 'version.txt' => "v2\n" }, 'v2');

pipe(my $rd, my $wr) or die "pipe: $!";
my $looper = fork // die "fork: $!";
if (!$looper) {
    close $rd;
    my ($ok, $bad_n, $v2) = (0, 0, 0);
    my $end = time + 180;
    my $stop = 0;
    local $SIG{TERM} = sub { $stop = 1 };
    until ($stop || time > $end) {
        my $r = get($ex->{name});
        if (($r->{status} // 0) == 200 && ($r->{content} // '') =~ /^express v(\d)/) {
            $ok++;
            $v2++ if $1 == 2;
        } else {
            $bad_n++;
            print $wr "failed: " . ($r->{status} // 'none') . "\n";
        }
        sleep 0.02;
    }
    print $wr "ok $ok bad $bad_n v2 $v2\n";
    close $wr;
    POSIX::_exit(0);
}
close $wr;

my $new_dep = deploy($ex->{pid});
is(wait_final($new_dep), 'PRODUCTION', 'a second deploy: PRODUCTION')
    or diag(log_text($new_dep));
is(state_of($old_dep), 'INACTIVE', '... the first one INACTIVE');
ok(wait_for(20, sub { !kill 0, $old_pid }), '... its process gone after the drain');
is(scalar(cgroup_procs($old_dep)), 0, '... nothing left in its cgroup');
sleep 1;
kill 'TERM', $looper;
waitpid $looper, 0;
my $report = do { local $/; <$rd> };
my ($ok_n, $bad_n, $v2_n) = $report =~ /ok (\d+) bad (\d+) v2 (\d+)/;
ok($ok_n && $ok_n > 10, "the client looped through the switch ($ok_n requests)");
is($bad_n, 0, '... and no request failed') or diag($report);
ok($v2_n, '... the last ones served by v2');
like(get($ex->{name})->{content} // '', qr/^express v2/, 'v2 serves now');

# ---- rollback: the kept artifact starts, no rebuild

$res = $s->api(POST => "/api/v1/deployments/$old_dep/promote", $u, {});
is($res->{status}, 200, 'promote the first deployment: 200')
    or diag($res->{content});
ok(wait_for(30, sub { (get($ex->{name})->{content} // '') =~ /^express v1/ }),
   'the rollback serves v1 again');
is(psql("SELECT count(*) FROM deployment_events WHERE deployment_id = $old_dep"
        . " AND to_state = 'BUILDING'"), 1, '... without a rebuild');
my $v2_pid = psql("SELECT pid FROM app_processes WHERE deployment_id = $new_dep");
ok(wait_for(20, sub { !app_pid($new_dep) && !cgroup_procs($new_dep) }),
   "... v2's process gone after the drain");

# ---- kill -9 of shipoffd: the app keeps serving, and is adopted

my $serving = app_pid($old_dep);
ok($serving, 'v1 runs');
kill 'KILL', shipoffd_pid();
# its zombie may outlive it for a while: the stack would think it runs
unlink "$var/run/shipoffd.pid";
sleep 0.5;
ok(kill(0, $serving), "shipoffd's kill -9 leaves the app running");
like(get($ex->{name})->{content} // '', qr/^express v1/, '... and serving');
$s->start('shipoffd');
ok(wait_for(10, sub { ($s->logs =~ /deployment=$old_dep project=\S+: adopted pid $serving/) }),
   'the next shipoffd adopts it');
is(app_pid($old_dep), $serving, '... the same process');
$res = get($ex->{name}, '/crash');
ok(wait_for(15, sub { my $p = app_pid($old_dep); $p && $p ne $serving }),
   '... and watches it: a crash is restarted');
ok(wait_for(10, sub { (get($ex->{name})->{content} // '') =~ /^express v1/ }),
   '... serving again');

# ---- delete the project: nothing left

my $last = app_pid($old_dep);
$res = $s->api(DELETE => "/api/v1/projects/$ex->{pid}", $u);
is($res->{status}, 204, 'delete the project: 204') or diag($res->{content});
ok(wait_for(10, sub { !kill 0, $last }), '... its process is gone');
ok(wait_for(5, sub { !cgroup_procs($old_dep) && !cgroup_procs($new_dep) }),
   '... nothing in its cgroups');
ok(wait_for(5, sub { !-e "$var/apps/$ex->{pid}" }), '... nor its files');
is(psql("SELECT count(*) FROM app_processes WHERE project_id = $ex->{pid}"),
   0, '... nor its rows');
is(get($ex->{name})->{status}, 404, '... and its host is unknown');

done_testing();
