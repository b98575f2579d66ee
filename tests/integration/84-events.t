# shipoffd acts on shipoff:events: a promote (a rollback to an older
# deployment) routes the edges to that deployment's artifact and rewrites
# routes.json; a promote published while shipoffd was stopped is handled
# once it is back; deleting a project takes its route off the edges (the
# host answers the JSON 404), its artifacts off the disk and its entry out
# of routes.json.
#
# The two versions are built with `shipoffd build` while the daemon is
# stopped (as in 80-build-static.t), then the daemon runs.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use ShipoffGit;
use ShipoffTest qw(stack_up run tempdir top_dir json_decode http in_chroot wait_for);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
use ShipoffNginx qw(request);

plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-t84-$$";
my $s = stack_up(env => { SHIPOFF_RECONCILE_INTERVAL    => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent });
$s->stop('shipoffd');

END {
    rmdir "/sys/fs/cgroup/$_/$cg_parent" for qw(memory pids cpu freezer);
}

my $var = $s->var;
my $top = top_dir();
my $shipoffd = $ENV{SHIPOFFD} // "$top/builder/shipoffd";

sub psql { $s->psql($_[0]) }

# the repository, served over HTTP: the plain fixture; commit(MSG,
# VERSION) makes the build write VERSION to public/version.txt
my $git = ShipoffGit->start;
my $repo_url = $git->repo('plain', 'tests/fixtures/sites/plain');

sub commit {
    my ($msg, $version) = @_;
    return $git->commit('plain',
                        { 'build.sh' => "set -e\nrm -rf public\n"
                                        . "cp -r site public\n"
                                        . "echo $version > public/version.txt\n" },
                        $msg);
}

my $u = $s->signup;
my $name = "events$$";
my $host = "$name.localhost";

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, repo_url => $repo_url,
                    kind => 'static', build_cmd => 'sh build.sh',
                    output_dir => 'public' });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};

sub deploy {
    my ($sha) = @_;
    my $r = $s->api(POST => "/api/v1/projects/$pid/deployments", $u,
                    { commit => $sha });
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    local %ENV = (%ENV, %{ $s->{env} });
    my ($rc, $out) = run($shipoffd, '-c', $s->conf, 'build',
                         $r->{json}{id});
    is($rc, 0, "deployment $r->{json}{id} built") or diag($out);
    return $r->{json}{id};
}

sub version {
    my $a = request($s->port('http'), 'GET', '/version.txt',
                    headers => { Host => $host });
    return $a->{status} == 200 ? $a->{content} =~ s/\s+\z//r : '';
}

sub snapshot {
    open my $fh, '<', "$var/routes.json" or return {};
    local $/;
    return eval { json_decode(<$fh>) } // {};
}

sub promote {
    my ($id) = @_;
    my $r = $s->api(POST => "/api/v1/deployments/$id/promote", $u, {});
    is($r->{status}, 200, "promote $id: 200") or diag($r->{content});
}

my $id1 = deploy(commit('version one', 'one'));
my $id2 = deploy(commit('version two', 'two'));
is(version(), 'two', 'the second version is served');

$s->start('shipoffd');

# --- promote: a rollback ----------------------------------------------------

promote($id1);
is(wait_for(5, sub { version() eq 'one' && 'one' }), 'one',
   'promote 1: the first version is served within 5 s');
is(wait_for(5, sub { (snapshot()->{routes}{$host}{deployment} // '') eq $id1
                     && $id1 }), $id1,
   '  routes.json routes the host to it');
is(snapshot()->{routes}{$host}{root}, "$var/sites/$pid/$id1",
   '  at its artifact');

# --- a promote published while shipoffd is stopped ------------------------

$s->stop('shipoffd');
promote($id2);
sleep 1;
is(version(), 'one', 'shipoffd stopped: the route is unchanged');
$s->start('shipoffd');
is(wait_for(10, sub { version() eq 'two' && 'two' }), 'two',
   '  once it is back, the second version is served');

# --- delete the project ----------------------------------------------------

ok(-d "$var/sites/$pid", 'the artifacts are on disk');
$res = $s->api(DELETE => "/api/v1/projects/$pid", $u);
is($res->{status}, 204, 'delete the project') or diag($res->{content});

my $gone = wait_for(5, sub {
    request($s->port('http'), 'GET', '/',
            headers => { Host => $host })->{status} == 404
});
ok($gone, 'the host answers 404 within 5 s');
my $a = request($s->port('http'), 'GET', '/', headers => { Host => $host });
like($a->{content}, qr/"not_found"/, '  as JSON');
is($s->control(GET => "/_shipoff/routes/$host")->{status}, 404,
   '  the route is gone from the edge');
unlike($s->control(GET => '/_shipoff/routes')->{content}, qr/\Q$host\E/,
       '  and from its table');
ok(wait_for(5, sub { !-e "$var/sites/$pid" }),
   "  var/sites/$pid removed");
ok(!exists snapshot()->{routes}{$host}, '  routes.json no longer lists it');
ok(scalar keys %{ snapshot() }, '  routes.json is still a table');

done_testing;
