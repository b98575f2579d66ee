# An app writes where apps usually write, as on Heroku or Render: in its
# own tree (a copy-on-write view: the published artifact is unchanged and
# a restart starts from it again), in its PHP session (kept across two
# requests with the same cookie), and past its disk quota (app_disk) it
# gets ENOSPC and keeps answering (on a file system formatted ahead: the
# spare image a start takes).  Nothing of it is left on the host once the
# stack is down: no loop device, no mount.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up top_dir in_chroot wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffApps qw(app_procs wait_final);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';
plan skip_all => 'needs php-cli' unless -x '/usr/bin/php';

my $cgroups = "shipoff-t92-$$";
my $s = stack_up(env => { SHIPOFF_STARTUP_TIMEOUT       => '15s',
                          SHIPOFF_APP_DISK              => '32m',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups });

my $top = top_dir();
my $var = $s->var;
my $git = ShipoffGit->start;
my $u = $s->signup;
my $name = "writer$$";

sub get {
    my ($path, %h) = @_;
    return request($s->port('http'), 'GET', $path,
                   headers => { Host => "$name.localhost", %h },
                   timeout => 20);
}

sub body { my $r = get(@_); return "$r->{status} $r->{content}" }

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, branch => 'main',
                    repo_url => $git->repo('writer',
                                           "$top/tests/fixtures/apps/writer") });
is($res->{status}, 201, 'a project') or diag($res->{content});
$res = $s->api(POST => "/api/v1/projects/$res->{json}{id}/deployments", $u,
               {});
is($res->{status}, 202, 'deploying') or diag($res->{content});
my $dep = $res->{json}{id};

is(wait_final($s, $dep, 120), 'PRODUCTION', 'PRODUCTION')
    or diag($s->log_text($dep));
my $artifact = $s->psql("SELECT artifact_path FROM deployments"
                        . " WHERE id = $dep");

# ---- its tree: writable, the artifact untouched, gone after a restart

is(body('/?read'), "200 none\n", 'no note yet');
is(body('/?write=hello'), "200 written\n", 'it writes in its own tree');
is(body('/?read'), "200 hello\n", 'and reads it back');
ok(!-e "$artifact/note.txt", 'the published artifact is unchanged');

# the next start's file system is formatted ahead (appfs.c), app_disk big
my $spare = "$var/appfs/spare.img";
ok(wait_for(10, sub { (-s $spare // 0) == 32 * 1024 * 1024 }),
   'a spare image waits for the next start, of app_disk bytes');
my $inode = (stat $spare)[1] // 0;

my @pids = app_procs($cgroups, $dep);
ok(@pids > 0, 'the app runs');
kill 'KILL', @pids;
my $back = '';
wait_for(30, sub { $back = body('/?read'); $back =~ /^200 / });
is($back, "200 none\n", 'restarted: it starts from the artifact again');
ok(wait_for(10, sub { my $i = (stat $spare)[1]; $i && $i != $inode }),
   'the restart took the spare, and another was formatted');

# ---- its PHP session lives across requests

$res = get('/?session');
is($res->{content}, "visit 1\n", 'a new session');
my ($cookie) = ($res->{headers}{'set-cookie'} // '') =~ /^([^;]+)/;
ok($cookie, 'with a cookie');
is(body('/?session', Cookie => $cookie // ''), "200 visit 2\n",
   'the same session on the next request');

# ---- past app_disk: ENOSPC, and it keeps answering

# the app's first process (php-fpm's master: its workers come and go
# on demand, so the others are no witness of a restart)
sub first_proc {
    my ($first, $since);
    for my $pid (app_procs($cgroups, $dep)) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my @f = split ' ', (<$fh> // '') =~ s/^.*\) //r;
        ($first, $since) = ($pid, $f[19])
            if defined $f[19] && (!defined $since || $f[19] < $since);
    }
    return $first;
}

my $first = first_proc();
like(body('/?fill=64'), qr/^200 wrote \d+ MiB: .*No space left on device/,
     'a write past app_disk fails with ENOSPC');
is(body('/'), "200 writer up\n", 'the app keeps answering');
ok(defined $first, 'the app has a first process');
is(first_proc(), $first, 'still the same process');

# ---- nothing left on the host

my $image = "$var/appfs/app-$dep.img";
ok(!-e $image, 'no image file on the host while it runs');
$s->down;
undef $s;
sub left { my ($cmd) = @_; return scalar grep { m{\Q$var\E} } `$cmd` }
wait_for(10, sub { !left('losetup -a 2> /dev/null') });
is(left('cat /proc/self/mountinfo'), 0, 'no mount left under the var dir');
is(left('losetup -a 2> /dev/null'), 0, 'no loop device left');

done_testing;
