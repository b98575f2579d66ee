# Environment variable names are checked again when a build loads them
# (issue 11, point 9): a name stored before a rule refused it (here
# written to the table directly, as the API refuses it) never reaches the
# build, and the builder logs that it skipped it, by name, never with its
# value; the project's other variables still arrive.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(sandbox_stack_up run tempdir top_dir);

my $s = sandbox_stack_up();

my $top = top_dir();
my $shipoffd = $ENV{SHIPOFFD} // "$top/builder/shipoffd";

# a repository whose build prints the names of its environment
my $repo = tempdir() . '/names';
run('mkdir', '-p', "$repo/site");
open my $fh, '>', "$repo/site/index.html" or die $!;
print $fh "<p>names</p>\n";
close $fh;
for my $git ([ 'init', '-q', '-b', 'main' ], [ 'add', '-A' ],
             [ 'commit', '-q', '-m', 'names' ]) {
    my ($rc, $out) = run('git', '-C', $repo, '-c', 'user.name=t',
                         '-c', 'user.email=t@e', @$git);
    die "git @$git: $out" if $rc;
}

my $u = $s->signup;
my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => "names$$", repo_url => "file://$repo",
                    kind => 'static', output_dir => 'site',
                    build_cmd => q{env | cut -d= -f1 | sed 's/^/name: /'} });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};

$res = $s->api(PUT => "/api/v1/projects/$pid/env/GREETING", $u,
               { value => 'hello', target => 'build' });
is($res->{status}, 201, 'a variable of the build') or diag($res->{content});

my $value = "/tmp/ld-debug-$$";
$s->psql("INSERT INTO env_vars (project_id, key, value, target) VALUES"
         . " ($pid, 'LD_DEBUG_OUTPUT', '$value', 'build'),"
         . " ($pid, 'LD_PROFILE_OUTPUT', '$value', 'both')");

$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
is($res->{status}, 202, 'a deployment') or diag($res->{content});
my $id = $res->{json}{id};

my ($rc, $out) = do {
    local %ENV = (%ENV, %{ $s->{env} });
    run($shipoffd, '-c', $s->conf, 'build', $id);
};
is($rc, 0, 'the build succeeds') or diag($out);

my $log = $s->log_text($id) // '';
like($log, qr/^stdout: name: GREETING$/m, 'the allowed variable arrives');
unlike($log, qr/name: LD_DEBUG_OUTPUT/i, 'LD_DEBUG_OUTPUT does not');
unlike($log, qr/name: LD_PROFILE_OUTPUT/i, 'nor LD_PROFILE_OUTPUT');

my $logs = $out . $s->logs;
my $skip = "project=$pid key=LD_DEBUG_OUTPUT: skipped, the name is"
           . " reserved: LD_*";
like($logs, qr/\Q$skip\E/, 'the skip is logged by name and rule');
unlike($logs, qr/\Q$value\E/, 'the value is not logged');

done_testing();
