# shipoffd's queue: a deployment is claimed once (QUEUED -> BUILDING ->
# a final state) and its entry acknowledged; a duplicate entry builds
# nothing more; newer pushes of a branch supersede older queued ones; a job
# the outbox kept while Redis was down is sent by the reconciler; lost
# leases are retried (or failed once the attempts are used up); a cancel
# stops a running build at once; a build survives shipoffd's kill -9 and
# its stop, and Redis restarted with its data lost while one deployment
# is BUILDING and another QUEUED; one build per project at a time.
#
# Most cases use a project whose repository does not exist: its worker
# fails fast with clone_failed, which is all the queue needs.  The cases of
# a running build use a file:// repository whose build command sleeps: they
# need what a build needs (root for its cgroups and uid, bubblewrap) and
# are skipped only where that is missing; a build that should run and does
# not is a failure.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use ShipoffTest qw(stack_up run tempdir in_chroot wait_for);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();

# what a build needs, for the cases of a running build: the only reason
# any of them is skipped, said here once
my $no_build = $> != 0 ? 'needs root (cgroups and a sandbox uid)'
             : !-x '/usr/bin/bwrap' ? 'needs bubblewrap'
             : '';
diag("the cases of a running build are skipped: $no_build") if $no_build;

# the sandbox cgroups of this stack's builds apart from any other's
my $cgroups = "shipoff-t81-$$";

my $s = stack_up(env => { SHIPOFF_RECONCILE_INTERVAL    => '1s',
                          SHIPOFF_LEASE_TTL             => '5s',
                          SHIPOFF_MAX_ATTEMPTS          => '3',
                          SHIPOFF_BUILD_CONCURRENCY     => '4',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

# what a killed build left there (empty by now), once the stack is down
END {
    local $?;
    $s->down if $s;
    for my $dir (glob("/sys/fs/cgroup/*/$cgroups"),
                 glob("/sys/fs/cgroup/$cgroups"))
    {
        run('find', $dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}',
            '+');
    }
}

sub psql { $s->psql($_[0]) }

sub redis { my $out = $s->redis(@_); chomp $out; $out }

my %final = map { $_ => 1 } qw(PRODUCTION INACTIVE FAILED CANCELED);

sub state_of { psql("SELECT state FROM deployments WHERE id = $_[0]") }

sub reason_of { psql("SELECT reason FROM deployments WHERE id = $_[0]") }

sub wait_final {
    my ($id, $secs) = @_;
    my $st;
    wait_for($secs // 30, sub { $st = state_of($id); $final{$st} });
    return $st;
}

# "QUEUED BUILDING FAILED": the states a deployment went through
sub path_of {
    return join ' ', split /\n/,
        psql("SELECT to_state FROM deployment_events"
             . " WHERE deployment_id = $_[0] ORDER BY id");
}

sub builds_of {
    return psql("SELECT count(*) FROM deployment_events"
                . " WHERE deployment_id = $_[0] AND to_state = 'BUILDING'");
}

sub pending {
    my $out = redis('XPENDING', 'shipoff:builds', 'builders');
    my ($n) = split /\n/, $out;
    return $n;
}

sub shipoffd_pid {
    open my $fh, '<', $s->var . '/run/shipoffd.pid' or return;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

# the processes whose parent is pid
sub children_of {
    my ($pid) = @_;
    my ($rc, $out) = run('ps', '-o', 'pid=', '--ppid', $pid);
    return grep { /\d/ } split /\n/, $out;
}

my $u = $s->signup;

sub project {
    my ($name, $repo, %more) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => "$name$$", repo_url => $repo,
                        branch => 'main', %more });
    die "project $name: $res->{status} $res->{content}"
        unless $res->{status} == 201;
    return $res->{json}{id};
}

sub deploy {
    my ($pid, $body) = @_;
    my $res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u,
                      $body // {});
    die "deploy: $res->{status} $res->{content}" unless $res->{status} == 202;
    return $res->{json}{id};
}

my $git = tempdir();
my $nope = project('nope', "file://$git/does-not-exist");

# ---- claim, build, acknowledge

my $d = deploy($nope);
is(wait_final($d), 'FAILED', 'claimed and built: FAILED');
is(reason_of($d), 'clone_failed', '... for the missing repository');
is(path_of($d), 'QUEUED BUILDING FAILED', '... through BUILDING, once');
is(psql("SELECT attempts, lease_owner IS NULL FROM deployments"
        . " WHERE id = $d"), '1|t', '... one attempt, the lease dropped');
ok(wait_for(5, sub { pending() == 0 }), 'the entry was acknowledged');

# ---- duplicates

redis('XADD', 'shipoff:builds', '*', 'deployment', $d, 'project', $nope)
    for 1 .. 2;
ok(wait_for(5, sub { pending() == 0 }),
   'a duplicate of a finished job: acknowledged');
sleep 0.5;
is(builds_of($d), 1, '... and not built again');

$s->stop('shipoffd');
$d = deploy($nope);
redis('XADD', 'shipoff:builds', '*', 'deployment', $d, 'project', $nope)
    for 1 .. 3;
$s->start('shipoffd');
is(wait_final($d), 'FAILED', 'a job delivered four times: built');
sleep 0.5;
is(builds_of($d), 1, '... once');
ok(wait_for(5, sub { pending() == 0 }), '... every entry acknowledged');

# ---- superseding

$s->stop('shipoffd');
my @five = map { deploy($nope) } 1 .. 5;
my $other = deploy($nope, { branch => 'other' });
$s->start('shipoffd');
is(wait_final($five[-1]), 'FAILED', 'five pushes: the newest is built');
is(wait_final($other), 'FAILED', '... another branch is built as well');
my $built = grep { builds_of($_) > 0 } @five;
ok($built <= 2, "... at most two of the five were built ($built)");
is_deeply([ map { state_of($_) . ' ' . reason_of($_) } @five[0 .. 3] ],
          [ ('CANCELED superseded') x 4 ], '... the older ones superseded');

# ---- the outbox, while Redis is down

$s->stop('redis');
$d = deploy($nope);
is(psql("SELECT count(*) FROM build_outbox WHERE deployment_id = $d"
        . " AND sent_at IS NULL"), 1, 'Redis down: the job waits unsent');
sleep 1.5;
is(state_of($d), 'QUEUED', '... and QUEUED');
$s->start('redis');
is(wait_final($d), 'FAILED', 'Redis back: the reconciler sent it, built');
is(psql("SELECT bool_and(sent_at IS NOT NULL) FROM build_outbox"
        . " WHERE deployment_id = $d"), 't', '... the outbox row sent');

# Redis forgot everything (no persistence): a QUEUED deployment whose
# entry was lost is published again once nobody took it for a lease
$s->stop('shipoffd');
$d = deploy($nope);
$s->stop('redis');
$s->start('redis');
$s->start('shipoffd');
is(wait_final($d, 20), 'FAILED', 'an entry Redis lost: published again');
is(builds_of($d), 1, '... built once');

# ---- lost leases

for my $c (
    [ 'a lease lost', 1, 'FAILED', 'clone_failed',
      'QUEUED BUILDING QUEUED BUILDING FAILED' ],
    [ 'the last attempt lost', 3, 'FAILED', 'builder_lost',
      'QUEUED BUILDING FAILED' ],
) {
    my ($name, $attempts, $state, $reason, $path) = @$c;
    $s->stop('shipoffd');
    $d = deploy($nope);
    psql("UPDATE deployments SET state = 'BUILDING', reason = 'test',"
         . " attempts = $attempts, lease_owner = 'dead:1',"
         . " lease_expires_at = now() - interval '1 second'"
         . " WHERE id = $d");
    $s->start('shipoffd');
    is(wait_final($d, 20), $state, "$name: $state");
    is(reason_of($d), $reason, "... $reason");
    is(path_of($d), $path, "... $path");
}
like(psql("SELECT string_agg(reason, ',' ORDER BY id)"
          . " FROM deployment_events WHERE deployment_id = $d - 1"),
     qr/,builder_lost,/, 'the retry is recorded as builder_lost');

# a live lease is left alone
$s->stop('shipoffd');
$d = deploy($nope);
psql("UPDATE deployments SET state = 'BUILDING', reason = 'test',"
     . " attempts = 1, lease_owner = 'alive:1',"
     . " lease_expires_at = now() + interval '1 hour' WHERE id = $d");
$s->start('shipoffd');
sleep 2.5;
is(state_of($d), 'BUILDING', 'a lease that did not expire: left alone');
psql("UPDATE deployments SET state = 'FAILED', reason = 'test'"
     . " WHERE id = $d");

# ---- builds that take time: a repository whose build sleeps

my $site = "$git/site";
run('mkdir', '-p', $site);
{
    open my $fh, '>', "$site/index.html" or die;
    print $fh "<h1>hello</h1>\n";
    close $fh;
}
for my $cmd (['init', '-q', '-b', 'main'], ['add', '-A'],
             ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q',
              '-m', 'x'])
{
    my ($rc, $out) = run('git', '-C', $site, @$cmd);
    die "git @$cmd: $out" if $rc;
}

# a distinct sleep, to find its processes
my $nap = sprintf '60.%d', $$;
my $slow = project('slow', "file://$site", kind => 'static',
                   build_cmd => "sleep $nap", output_dir => '.');
my $quick = project('quick', "file://$site", kind => 'static',
                    build_cmd => 'sleep 3', output_dir => '.');

sub sleepers {
    my ($rc, $out) = run('pgrep', '-f', "sleep $nap");
    return grep { /\d/ } split /\n/, $out;
}

SKIP: {
    skip $no_build, 13 if $no_build;

    $d = deploy($slow);
    ok(wait_for(30, sub { sleepers() }), 'a build that sleeps runs')
        or diag(path_of($d) . ' ' . (reason_of($d) // ''));

    # cancel
    my $t0 = time;
    my $res = $s->api(POST => "/api/v1/deployments/$d/cancel", $u);
    is($res->{status}, 200, 'cancel a running build: 200');
    ok(wait_for(3, sub { !sleepers() }), '... its processes are gone');
    my $took = time - $t0;
    ok($took < 2.5, sprintf('... within %.1f s', $took));
    is(wait_final($d, 5), 'CANCELED', '... CANCELED');
    ok(wait_for(6, sub { !children_of(shipoffd_pid()) }),
       '... shipoffd has no child left');

    # five pushes during one build: at most two builds
    my @push = (deploy($quick));
    wait_for(30, sub { state_of($push[0]) eq 'BUILDING' });
    push @push, map { deploy($quick) } 2 .. 5;
    is(wait_final($push[-1], 40), 'PRODUCTION',
       'five pushes during a build: the newest reaches PRODUCTION');
    is(join(' ', map { builds_of($_) } @push), '1 0 0 0 1',
       '... two builds: the first and the newest');
    is_deeply([ map { state_of($_) . ' ' . reason_of($_) } @push[1 .. 3] ],
              [ ('CANCELED superseded') x 3 ], '... the others superseded');

    # kill -9 mid-build: the build dies with shipoffd; once restarted, the
    # lease expires and the deployment is built again
    $d = deploy($slow);
    ok(wait_for(30, sub { sleepers() }), 'kill -9 mid-build: it runs');
    kill 'KILL', shipoffd_pid();
    ok(wait_for(3, sub { !sleepers() }), 'kill -9: the build dies with it');
    # its zombie may outlive it for a while: the stack would think it runs
    unlink $s->var . '/run/shipoffd.pid';
    $s->start('shipoffd');
    wait_for(30, sub { sleepers() || $final{ state_of($d) } });
    ok(builds_of($d) == 2 && sleepers(),
       '... restarted, the lease expired: built again');
    $s->api(POST => "/api/v1/deployments/$d/cancel", $u);
    ok($final{ wait_final($d, 20) }, '... it reaches a final state');
}

# ---- stopping with a build running: queued again, attempt not counted

SKIP: {
    skip $no_build, 6 if $no_build;

    $d = deploy($slow);
    ok(wait_for(30, sub { sleepers() }), 'stop mid-build: it runs');
    my $stops = () = $s->logs =~ /shipoffd\[\d+\] info: stopped$/mg;
    $s->stop('shipoffd');
    # the stack SIGKILLs after 5 s of grace: "stopped" in the log means
    # shipoffd drained and exited by itself, before that
    my $after = () = $s->logs =~ /shipoffd\[\d+\] info: stopped$/mg;
    is($after, $stops + 1, 'stop with a build running: shipoffd exits by itself');
    ok(!sleepers(), '... the build is gone');
    is(psql("SELECT state || ' ' || reason || ' ' || attempts"
            . " FROM deployments WHERE id = $d"), 'QUEUED builder_lost 0',
       '... QUEUED again, the attempt not counted');
    $s->start('shipoffd');
    wait_for(30, sub { sleepers() || $final{ state_of($d) } });
    ok(sleepers(), '... and built again on restart');
    $s->api(POST => "/api/v1/deployments/$d/cancel", $u);
    ok($final{ wait_final($d, 20) }, '... it reaches a final state');
}

# ---- Redis restarted with its data lost (it keeps none) while one
# deployment is BUILDING and another QUEUED behind it (one build per
# project): the build goes on without its log stream, the reconciler
# publishes the lost entry again, and both end

SKIP: {
    skip $no_build, 7 if $no_build;

    my ($rc, $out) = run('git', '-C', $site, 'branch', 'other');
    die "git branch: $out" if $rc;
    my $brief = sprintf '4.%d', $$;
    my $p = project('redis', "file://$site", kind => 'static',
                    build_cmd => "sleep $brief", output_dir => '.');
    my $building = deploy($p);
    ok(wait_for(30, sub { (run('pgrep', '-f', "sleep $brief"))[0] == 0 }),
       'Redis lost: one deployment building');
    is(state_of($building), 'BUILDING', '... BUILDING');
    my $queued = deploy($p, { branch => 'other' });
    sleep 0.5;
    is(state_of($queued), 'QUEUED', '... another QUEUED behind it');
    my ($before) = redis('INFO', 'server') =~ /^run_id:(\w+)/m;
    $s->stop('redis');
    $s->start('redis');
    my ($after) = redis('INFO', 'server') =~ /^run_id:(\w+)/m;
    isnt($after, $before, '... Redis restarted, empty');
    like(wait_final($building, 40), qr/^(PRODUCTION|INACTIVE)$/,
         '... the BUILDING one is built: ' . path_of($building));
    is(wait_final($queued, 40), 'PRODUCTION',
       '... the QUEUED one as well: ' . path_of($queued));
    is(builds_of($queued), 1, '... once');
}

# ---- one build per project

$s->stop('shipoffd');
my @branches = map { deploy($nope, { branch => "b$_" }) } 1 .. 4;
$s->start('shipoffd');
is(wait_final($branches[-1]), 'FAILED', 'four branches of a project: built');
is(psql("SELECT count(*) FROM deployment_events a"
        . " JOIN deployment_events b ON a.deployment_id <> b.deployment_id"
        . " WHERE a.deployment_id IN (" . join(',', @branches) . ")"
        . " AND b.deployment_id IN (" . join(',', @branches) . ")"
        . " AND a.to_state = 'BUILDING' AND b.to_state = 'BUILDING'"
        . " AND b.at > a.at AND b.at < (SELECT min(at) FROM"
        . " deployment_events f WHERE f.deployment_id = a.deployment_id"
        . " AND f.to_state IN ('FAILED', 'CANCELED', 'PRODUCTION'))"),
   0, '... one at a time');

ok(wait_for(5, sub { pending() == 0 }), 'nothing left pending');
unlike($s->logs, qr/shipoffd\[\d+\] error: (?!worker:)/,
       'no error in the log of the queue');

done_testing();
