# What a build plants in its own tree cannot make the publisher reach
# outside it.  The build owns var/builds/<id> and may rename anything in
# it after the checkout: the checkout itself, the project's root dir, its
# output dir, each swapped for a link to /etc, to var/ (the secrets) or to
# another tenant's app, absolute and relative.  The publisher resolves
# them from directory fds it opened before the build, so a swapped name
# is either not followed (the original tree is published) or refused (the
# deployment fails); never is a host file published or another tenant's
# tree taken (an app's tree is copied from the fd of its root dir).  A FIFO in the output is skipped without hanging the copy.
# (A hard link to a root-owned file cannot be made from inside the
# sandbox: the publisher's refusal of files the build does not own is
# tested in tests/unit/test_publish.c.)
#
# Builds run with `shipoffd build ID` in the foreground, the daemon
# stopped, as 87-isolation.t does.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(sandbox_stack_up run);
use ShipoffNginx qw(request);
use ShipoffGit;

my $s = sandbox_stack_up(env => { SHIPOFF_BUILD_TIMEOUT => '60' });
my $g = ShipoffGit->start;
my $var = $s->var;

sub psql { $s->psql($_[0]) }

my $u = $s->signup;
my $n = 0;

# a project whose repository is the plain site plus build.sh = $script
sub project {
    my (%p) = @_;
    my $name = 'l' . ++$n . "x$$";
    my $url = $g->repo($name, 'tests/fixtures/sites/plain');
    $g->commit($name, { 'attack.sh' => "set -x\n$p{script}" }, 'attack');
    my $res = $s->api(POST => '/api/v1/projects', $u,
                      { name => $name, repo_url => $url,
                        kind => $p{kind} // 'static',
                        build_cmd => 'sh build.sh && sh attack.sh',
                        ($p{root_dir} ? (root_dir => $p{root_dir}) : ()),
                        ($p{run_cmd} ? (run_cmd => $p{run_cmd}) : ()),
                        output_dir => $p{output_dir} // 'public' });
    die "project: $res->{status} $res->{content}" unless $res->{status} == 201;
    return ($res->{json}{id}, $name);
}

# builds the project's new deployment in the foreground: (id, state, reason)
sub deploy {
    my ($pid) = @_;
    my $r = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    my $id = $r->{json}{id};
    my (undef, $st) = $s->build_now($id);
    my ($state, $reason) = split / /, $st, 2;
    return ($id, $state, $reason // '');
}

# every file of a published tree, relative
sub files_of {
    my ($dir) = @_;
    my (undef, $out) = run('find', $dir, '-mindepth', '1');
    return map { s{^\Q$dir\E/}{}r } grep { length } split /\n/, $out;
}

sub slurp {
    my ($path) = @_;
    open my $f, '<', $path or return '';
    local $/;
    return <$f> // '';
}

sub get {
    my ($name, $path) = @_;
    return request($s->port('http'), 'GET', $path,
                   headers => { Host => "$name.localhost" });
}

my ($secret) = do { open my $f, '<', "$var/secrets" or die $!;
                   map { /^jwt_key = (\S+)/ ? $1 : () } <$f> };
my $shadow_line = do { open my $f, '<', '/etc/shadow' or die $!; <$f> };

# A deployment that planted a link: whatever it reached, nothing of the
# host is published.  Either it fails before publishing, or it publishes
# the tree held from before the build (the plain site).
sub nothing_of_the_host {
    my ($what, $name, $pid, $id, $state, $reason, $want) = @_;
    my $site = "$var/sites/$pid/$id";
    my @files = -d $site ? files_of($site) : ();
    my $all = join '', map { slurp("$site/$_") } grep { -f "$site/$_" }
                                                  @files;

    if ($want eq 'FAILED') {
        is("$state $reason", 'FAILED build_failed: output dir missing',
           "$what: the deployment fails: the output dir leads out")
            or diag($s->log_text($id));
        ok(!-e $site, '  nothing is published');
    } else {
        is($state, 'PRODUCTION', "$what: the deployment serves")
            or diag("$reason\n" . $s->log_text($id));
        ok((grep { $_ eq 'index.html' } @files),
           '  what it publishes is the tree held before the build');
    }
    ok(!(grep { m{(^|/)(shadow|passwd|hostname|secrets|openssl\.cnf)$} }
         @files), '  no host file is published')
        or diag(join ' ', @files);
    unlike($all, qr/\Q$secret\E/, '  no secret is in any published file');
    unlike($all, qr/\Q$shadow_line\E/, '  nor /etc/shadow');
    my $r = get($name, '/shadow');
    isnt($r->{status}, 200, '  GET /shadow is not answered');
}

# ---- the checkout swapped: output_dir "." after `mv src s; ln -s X src`

for my $case (['absolute, to /etc', '/etc'],
              ['absolute, to var/ (the secrets)', $var],
              ['relative, to var/', '../..'],
              ['relative, to /etc', '../../../../../../../../etc'])
{
    my ($what, $target) = @$case;
    my ($pid, $name) = project(output_dir => '.',
        script => "cp -r site/. . && cd .. && mv src s && ln -s '$target' src\n");
    my ($id, $state, $reason) = deploy($pid);
    nothing_of_the_host("the checkout swapped ($what)", $name, $pid, $id,
                        $state, $reason, 'PRODUCTION');
}

# ---- the output dir swapped for a link

for my $case (['absolute', '/etc'], ['relative', '../../../../../../../etc'],
              ['relative, to var/', '../../..'])
{
    my ($what, $target) = @$case;
    my ($pid, $name) = project(
        script => "rm -rf public && ln -s '$target' public\n");
    my ($id, $state, $reason) = deploy($pid);
    nothing_of_the_host("the output dir swapped ($what)", $name, $pid, $id,
                        $state, $reason, 'FAILED');
}

# ---- a parent swapped: root dir "ssl", the checkout replaced by /etc,
# whose ssl/ is the host's (private keys included)

{
    my ($pid, $name) = project(root_dir => 'ssl', output_dir => '.',
                               script => "true\n");
    $g->commit($name, { 'ssl/index.html' => "the repository's ssl/\n",
                        'ssl/build.sh' => "true\n",
                        'ssl/attack.sh' =>
                            "set -x\ncd ../.. && mv src s && ln -s /etc src\n" },
               'a root dir');
    my ($id, $state, $reason) = deploy($pid);
    nothing_of_the_host('a parent of the output dir swapped', $name, $pid,
                        $id, $state, $reason, 'PRODUCTION');
}

# ---- a FIFO and a symlink in the output: skipped, the copy does not hang

{
    my ($pid, $name) = project(
        script => "mkfifo public/pipe && ln -s /etc/shadow public/shadow\n");
    my ($id, $state, $reason) = deploy($pid);
    is($state, 'PRODUCTION', 'a FIFO in the output: the site still deploys')
        or diag("$reason\n" . $s->log_text($id));
    my @files = files_of("$var/sites/$pid/$id");
    ok(!(grep { $_ eq 'pipe' || $_ eq 'shadow' } @files),
       '  neither the FIFO nor the link is published');
    like($s->log_text($id), qr/skipped pipe: special files/,
         '  the log says the FIFO was skipped');
}

# ---- an app's tree swapped for a link to another tenant's app: the app
# is the tree held since before the build, the other tenant's untouched

{
    my $victim = "$var/apps/999999/1";
    run('mkdir', '-p', $victim);
    open my $f, '>', "$victim/server.js" or die $!;
    print $f "the victim's app\n";
    close $f;
    run('chown', '-R', '65534:65534', "$var/apps/999999");

    for my $case (['relative', '../../apps/999999/1'], ['absolute', $victim]) {
        my ($what, $target) = @$case;
        my ($pid, $name) = project(kind => 'dynamic',
            run_cmd => 'node server.js', output_dir => '.',
            script => "cd .. && mv src s && ln -s '$target' src\n");
        my ($id, $state, $reason) = deploy($pid);
        my $app = "$var/apps/$pid/$id";
        is("$state $reason", 'PROVISIONING built',
           "an app's tree swapped for another's ($what): built")
            or diag($s->log_text($id));
        ok(-d $app && !-l $app, '  its app is a directory of its own');
        ok(-f "$app/build.sh" && !-e "$app/server.js",
           '  holding the tree of its own checkout');
        ok(-f "$victim/server.js", "  the other tenant's tree is untouched");
    }
}

# ---- the same app, not attacked

{
    my ($pid, $name) = project(kind => 'dynamic', run_cmd => 'node server.js',
                               output_dir => '.',
                               script => "ln -s build.sh link.sh\n");
    my ($id, $state, $reason) = deploy($pid);
    my $app = "$var/apps/$pid/$id";
    ok(-d $app && !-l $app && -f "$app/build.sh",
       'an app that planted nothing is copied to var/apps')
        or diag("$state $reason\n" . $s->log_text($id));
    my @st = lstat "$app/build.sh";
    my $uid = psql("SELECT 2000000000 + sandbox_slot FROM projects"
                   . " WHERE id = $pid");
    is($st[4], $uid, "  owned by the project's uid");
    is(readlink("$app/link.sh"), 'build.sh', '  its symlinks kept as links');
}

done_testing;
