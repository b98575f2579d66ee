#!/usr/bin/perl
# bench/builder.pl: the builder's costs, as ratios against the same work
# done by hand in the same run, on one stack of our own (temp dir, the
# daemon running) and one smart-HTTP git server (ShipoffGit):
#
#   webhook to live     a push of the Vite fixture: from POST /hooks/github
#                       (signed as GitHub signs) until <name>.localhost
#                       answers the new version through nginx, against the
#                       same steps by hand: git clone + npm install + npm
#                       run build + cp -r dist.  Both start from a cold npm
#                       cache (the build's HOME is in its work dir, gone
#                       after each build).  Target: <= 1.15x.
#   clone               shipoffd's clone (libgit2, bench/clone) against
#                       `git clone` of the same repository from the same
#                       server: the Vite fixture and Shipoff's own tree.
#
# Rounds interleave the two sides of each ratio (which goes first
# alternates); medians are compared.
# Knobs: BENCH_ROUNDS (5), BENCH_CLONES (15).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/integration/lib", "$FindBin::Bin/lib";
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(time sleep);
use ShipoffBench qw(bench_project);
use ShipoffTest qw(stack_up tempdir top_dir run json_encode json_decode);
use ShipoffNginx qw(request);
use ShipoffGit;

my $rounds = $ENV{BENCH_ROUNDS} // 5;
my $clones = $ENV{BENCH_CLONES} // 15;
my $top = top_dir();

-x "$top/bench/clone" or die "bench: bench/clone is not built (make bench)\n";
$> == 0 or die "bench: the sandbox needs root\n";

my $cg = "shipoff-bench-$$";
my $s = stack_up(env => { SHIPOFF_SANDBOX_CGROUP_PARENT => $cg,
                          SHIPOFF_AUTH_RATE => '1000r/s' });
END {
    local $?;
    $s->down if $s;
    run('find', $_, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', '+')
        for glob("/sys/fs/cgroup/*/$cg"), glob("/sys/fs/cgroup/$cg");
}
my $g = ShipoffGit->start;
my $tmp = tempdir();

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub timed {
    my ($code) = @_;
    my $t0 = time;
    $code->();
    return time - $t0;
}

sub sh {
    my (@cmd) = @_;
    my ($rc, $out) = run(@cmd);
    die "bench: @cmd: $out" if $rc;
    return $out;
}

# ---- webhook to live

my $url = $g->repo('vite', 'tests/fixtures/sites/vite');
my $u = $s->signup;
my $name = "vite$$";
my $project = bench_project($s, $u, name => $name, repo_url => $url);
my $secret = $project->{webhook_secret};
my $pid = $project->{id};

open my $fh, '<', "$top/tests/fixtures/github/push.json" or die $!;
my $template = json_decode(do { local $/; <$fh> });
close $fh;

my $fixture = do {
    open my $f, '<', "$top/tests/fixtures/sites/vite/index.html" or die $!;
    local $/;
    <$f>;
};

# the new version of round n: its title says so
sub version {
    my ($n) = @_;
    (my $html = $fixture) =~ s{<h1>Vite fixture</h1>}{<h1>Vite fixture, round $n</h1>};
    return $html;
}

my $delivery = 0;

# a push of sha as GitHub delivers it; the deployment it queued
sub push_hook {
    my ($before, $sha, $n) = @_;
    my $p = json_decode(json_encode($template));
    $p->{before} = $before;
    $p->{after} = $sha;
    $p->{ref} = 'refs/heads/main';
    $p->{head_commit}{id} = $sha;
    $p->{head_commit}{message} = "round $n";
    $p->{commits} = [ $p->{head_commit} ];
    $p->{repository}{clone_url} = $url;
    $p->{repository}{full_name} = 'vite';
    (my $html = $url) =~ s/\.git$//;
    $p->{repository}{html_url} = $p->{repository}{url} = $html;
    delete @{ $p->{repository} }{qw(git_url ssh_url)};
    my $body = json_encode($p);
    my $r = ShipoffTest::http(POST => $s->url('/hooks/github'), $body,
        { 'X-GitHub-Event' => 'push',
          'X-GitHub-Delivery' => "bench-$$-" . ++$delivery,
          'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $secret),
          'Content-Type' => 'application/json' });
    die "bench: hook: $r->{status} $r->{content}\n"
        unless $r->{status} == 202 && @{ $r->{json}{deployments} || [] };
    return $r->{json}{deployments}[0];
}

sub live {
    my ($n, $dep) = @_;
    my $end = time + 300;
    while (time < $end) {
        my $a = request($s->port('http'), 'GET', '/',
                        headers => { Host => "$name.localhost" });
        return 1 if ($a->{content} // '') =~ /round $n</;
        sleep 0.02;
    }
    die "bench: round $n never went live: "
        . $s->psql("SELECT state || ' ' || coalesce(reason, '')"
                   . " FROM deployments WHERE id = $dep") . "\n";
}

sub by_hand {
    my ($n) = @_;
    my $d = "$tmp/hand-$n";
    mkdir $d;
    mkdir "$d/home";
    local $ENV{HOME} = "$d/home";
    local $ENV{npm_config_cache} = "$d/home/.npm";
    sh('git', 'clone', '-q', '-b', 'main', $url, "$d/src");
    my $cmd = -f "$d/src/package-lock.json" ? 'ci' : 'install';
    sh('sh', '-c', "cd '$d/src' && npm $cmd >/dev/null 2>&1"
                   . " && npm run build >/dev/null 2>&1");
    sh('cp', '-r', "$d/src/dist", "$d/site");
    die "bench: by hand: no new version\n"
        unless `cat '$d/site/index.html'` =~ /round $n</;
    sh('rm', '-rf', $d);
}

my (@platform, @hand);
my $head = `git -C '$g->{dir}/work/vite' rev-parse HEAD`;
chomp $head;
for my $n (1 .. $rounds) {
    my $sha = $g->commit('vite', { 'index.html' => version($n) }, "round $n");
    # who goes first alternates: a registry or page cache warmed by one
    # side helps the other as often as not
    my @sides = (sub { push @hand, timed(sub { by_hand($n) }) },
                 sub { push @platform,
                       timed(sub { live($n, push_hook($head, $sha, $n)) }) });
    $_->() for $n % 2 ? @sides : reverse @sides;
    $head = $sha;
    printf "  round %d: webhook to live %.2f s, by hand %.2f s\n", $n,
        $platform[-1], $hand[-1];
}

my $p50 = median(@platform);
my $h50 = median(@hand);
printf "webhook to live (Vite fixture, over HTTP): %.2f s vs by hand %.2f s"
    . " (medians of %d): %.2fx (target <= 1.15x)\n", $p50, $h50, $rounds,
    $p50 / $h50;

# ---- where the time of the platform goes, from its own log (last round)
{
    my $dep = $s->psql("SELECT max(id) FROM deployments"
                       . " WHERE project_id = $pid");
    # the last lines reach PostgreSQL in the worker's final batch
    for (1 .. 100) {
        last if $s->psql("SELECT count(*) FROM log_lines WHERE"
                         . " deployment_id = $dep AND line LIKE 'deployed in%'");
        sleep 0.1;
    }
    my $steps = $s->psql(
        "SELECT string_agg(round(extract(epoch FROM at - lag)::numeric, 2)"
        . " || ' s to: ' || line, E'\\n' ORDER BY id) FROM"
        . " (SELECT id, at, line, lag(at) OVER (ORDER BY id) FROM log_lines"
        . " WHERE deployment_id = $dep AND stream = 'system') l"
        . " WHERE lag IS NOT NULL");
    print map { "    $_\n" } split /\n/, $steps;
}

# ---- clone: libgit2 (shipoffd's) vs git clone

my $src = "$tmp/tree";
mkdir $src;
sh('sh', '-c', "git -C '$top' archive HEAD | tar -x -C '$src'");
my %repos = (vite => $url, shipoff => $g->repo('shipoff', $src));
for my $which (sort keys %repos) {
    my (@lib, @git);
    for my $i (1 .. $clones) {
        push @lib, timed(sub {
            sh("$top/bench/clone", $repos{$which}, 'main', "$tmp/l$i") });
        push @git, timed(sub {
            sh('git', 'clone', '-q', '-b', 'main', $repos{$which},
               "$tmp/g$i") });
        sh('rm', '-rf', "$tmp/l$i", "$tmp/g$i");
    }
    my $files = `git -C '$g->{dir}/work/$which' ls-files | wc -l`;
    chomp $files;
    printf "clone of %s (%d files): libgit2 %.1f ms vs git clone %.1f ms"
        . " (medians of %d): %.2fx\n", $which, $files, 1000 * median(@lib),
        1000 * median(@git), $clones, median(@lib) / median(@git);
}
