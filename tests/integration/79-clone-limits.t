# A build's clone runs in the sandbox as the sandbox uid, under the
# build's deadline (`shipoffd clone`, builder/clone.c):
#   - a file:// repository only root may read is not cloned (the clone is
#     not root's), and one the sandbox uid may read is;
#   - a server that accepts and never answers fails the build with
#     build_timeout at the build's deadline, and leaves nothing running;
#   - a "git bomb" (a tiny pack whose trees repeat one another: 10^7 files
#     once checked out) fails with clone_failed, "too large", before
#     anything is checked out;
# and the work dir is a file system of sandbox_disk bytes: a build that
# writes more fails with "build_failed: disk quota", and its image and
# loop device are gone afterwards.  That file system is mounted in the
# worker's own mount namespace, never in the host's, where a sandbox
# starting beside the build would see it come and go.
# Builds run with `shipoffd build ID` in the foreground, the daemon
# stopped, as 87-isolation.t does.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(time);
use ShipoffTest qw(sandbox_stack_up git_bomb silent_server run top_dir tempdir);

my $s = sandbox_stack_up(env => { SHIPOFF_BUILD_TIMEOUT => '6',
                                  SHIPOFF_SANDBOX_DISK  => '48m' });

my $top = top_dir();
my $shipoffd = $ENV{SHIPOFFD} // "$top/builder/shipoffd";
my $git = tempdir();

sub psql { $s->psql($_[0]) }

my $u = $s->signup;
my $n = 0;

sub git {
    my ($dir, @args) = @_;
    my ($rc, $out) = run('git', '-C', $dir, '-c', 'user.name=t', '-c',
                         'user.email=t@e', @args);
    die "git @args: $out" if $rc;
    chomp $out;
    return $out;
}

# a repository of the plain site, on branch main
sub plain_repo {
    my ($name) = @_;
    my $dir = "$git/$name";
    run('mkdir', '-p', $dir);
    run('cp', '-a', "$top/tests/fixtures/sites/plain/.", $dir);
    git($dir, 'init', '-q', '-b', 'main');
    git($dir, 'add', '-A');
    git($dir, 'commit', '-q', '-m', 'plain');
    return $dir;
}

# a new deployment of a project on url, not yet built: its id
sub deployment {
    my ($url, $build) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => 'c' . ++$n . "x$$", repo_url => $url,
                        kind => 'static',
                        build_cmd => $build // 'sh build.sh',
                        output_dir => 'public' });
    die "project: $res->{status} $res->{content}" unless $res->{status} == 201;
    my $r = $s->api(POST => "/api/v1/projects/$res->{json}{id}/deployments",
                    $u, {});
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    return $r->{json}{id};
}

# builds a new deployment of a project on url: (id, "STATE reason", secs)
sub deploy {
    my $id = deployment(@_);
    my $t0 = time;
    my (undef, $st) = $s->build_now($id);
    return ($id, $st, time - $t0);
}

# ---- who clones: the sandbox uid

{
    my $dir = plain_repo('readable');
    my ($id, $st) = deploy("file://$dir");
    is($st, 'PRODUCTION deployed',
       'a repository the sandbox uid may read deploys')
        or diag($s->log_text($id));

    my $closed = plain_repo('rootonly');
    chmod 0700, $closed or die "chmod: $!";
    ($id, $st) = deploy("file://$closed");
    is($st, 'FAILED clone_failed',
       'one only root may read is not cloned: the clone is not root')
        or diag($s->log_text($id));
    like($s->log_text($id), qr/^system: clone failed/m, '  the log says so');
}

# ---- a server that accepts and never answers

{
    my ($port, $pid) = silent_server();

    my ($id, $st, $secs) = deploy("http://127.0.0.1:$port/silent.git");
    is($st, 'FAILED build_timeout',
       'a silent server: FAILED build_timeout')
        or diag($s->log_text($id));
    cmp_ok($secs, '<', 60, '  at the build deadline, not later');
    my (undef, $left) = run('pgrep', '-f', "$shipoffd clone");
    is($left, '', '  no clone left running');
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# ---- a git bomb

{
    my $dir = git_bomb("$git/bomb");
    my ($id, $st) = deploy("file://$dir");
    is($st, 'FAILED clone_failed', 'a git bomb: FAILED clone_failed')
        or diag($s->log_text($id));
    like($s->log_text($id), qr/too large/, '  the log says it is too large');
    ok(!-e $s->var . "/builds/$id", '  its build dir is gone');
}

# ---- the work dir's quota

{
    my $dir = plain_repo('filler');
    my ($id, $st) = deploy("file://$dir",
        'sh build.sh && dd if=/dev/zero of=big bs=1M count=64');
    is($st, 'FAILED build_failed: disk quota',
       'a build writing past sandbox_disk: FAILED build_failed: disk quota')
        or diag($s->log_text($id));
    like($s->log_text($id), qr/No space left on device/,
         "  the build saw ENOSPC");
    like($s->log_text($id), qr/filled its work dir \(48 MiB/,
         '  the log says which quota');
    # this stack's image: a test beside it may have a build of that id
    my $img = $s->var . "/builds/$id.img";
    ok(!-e $img, '  its image is removed');
    my (undef, $loops) = run('losetup', '-a');
    unlike($loops // '', qr{\Q$img\E}, '  no loop device holds it');
}

# ---- the work dir is not a mount of the host's

{
    my $dir = plain_repo('sleeper');
    my $id = deployment("file://$dir", 'sh build.sh && sleep 3');
    my $at = $s->var . "/builds/$id";
    my $done = "$git/built-$id";

    # looks at the host's mounts every 20 ms until the build is over
    my $watcher = fork // die "fork: $!";
    if (!$watcher) {
        my $seen = 0;
        until ($seen || -e $done) {
            open my $m, '<', '/proc/self/mountinfo' or POSIX::_exit(2);
            $seen = grep { (split ' ')[4] eq $at } <$m>;
            close $m;
            select(undef, undef, undef, 0.02);
        }
        POSIX::_exit($seen ? 1 : 0);
    }

    my (undef, $st) = $s->build_now($id);
    open my $f, '>', $done or die "$done: $!";
    close $f;
    waitpid $watcher, 0;
    is($st, 'PRODUCTION deployed', 'a build that takes 3 s deploys')
        or diag($s->log_text($id));
    is($? >> 8, 0, "  its work dir was never mounted in the host's namespace");
}

done_testing;
