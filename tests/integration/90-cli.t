# The shipoff CLI against a real stack, as a user runs it: signup, login
# (password on stdin, a personal token, SHIPOFF_TOKEN), the session
# refreshed transparently when its access token is refused, projects, env
# (secrets masked), teams, tokens, deploy (--wait until a final state or
# the timeout), deployments, rollback, logs (history, search, -f across a
# dropped connection), logout.
# Every command answers --help; wrong flags exit 2 with the usage; a
# failure is one line on stderr.  HOME is a temp dir: the real ~ is never
# touched.  The builder is stopped: the states it would reach are set
# through psql.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use POSIX ();
use ShipoffTest qw(stack_up tempdir top_dir free_port json_decode);

# SHIPOFF_CLI: another build of the client (a sanitizer's, say)
my $bin = $ENV{SHIPOFF_CLI} // top_dir() . '/cli/shipoff';
plan skip_all => "$bin is not built" unless -x $bin;

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });
$s->stop('shipoffd');

my $tmp = tempdir();
my $home = "$tmp/home";
mkdir $home or die "mkdir $home: $!";
my $conf = "$home/.config/shipoff/config.json";
my $pw = 'correct horse battery';
my $email = "cli-$$\@example.com";

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh> // '';
}

sub spew {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
}

# cli_start({stdin, env, cwd}, ARGS...): runs shipoff in the background
# with HOME=$home, the stack's API and no SHIPOFF_TOKEN unless given
my $runs = 0;

sub cli_start {
    my %o = ref $_[0] eq 'HASH' ? %{ shift() } : ();
    my $io = "$tmp/run" . ++$runs;
    spew("$io.in", $o{stdin} // '');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        delete @ENV{qw(SHIPOFF_TOKEN XDG_CONFIG_HOME)};
        %ENV = (%ENV, HOME => $home, SHIPOFF_API => $s->url(''),
                %{ $o{env} || {} });
        delete $ENV{$_} for grep { !defined $ENV{$_} } keys %ENV;
        chdir($o{cwd} // $tmp) or die "chdir: $!";
        open STDIN, '<', "$io.in" or die;
        open STDOUT, '>', "$io.out" or die;
        open STDERR, '>', "$io.err" or die;
        exec $bin, @_ or POSIX::_exit(127);
    }
    return { pid => $pid, io => $io };
}

sub cli_finish {
    my ($run) = @_;
    waitpid $run->{pid}, 0;
    my %r = (rc => $? >> 8, out => slurp("$run->{io}.out"),
             err => slurp("$run->{io}.err"));
    $r{json} = eval { json_decode($r{out}) };
    return \%r;
}

sub cli { cli_finish(cli_start(@_)) }

# ok_run($r, NAME): exit 0, else shows what it said
sub ok_run {
    my ($r, $name) = @_;
    is($r->{rc}, 0, "$name: exit 0") or diag("stdout: $r->{out}\nstderr: $r->{err}");
}

# fails($r, RC, RE, NAME): exit RC with one line on stderr matching RE
sub fails {
    my ($r, $rc, $re, $name) = @_;
    is($r->{rc}, $rc, "$name: exit $rc") or diag("stdout: $r->{out}");
    like($r->{err}, $re, "$name: the message");
    is(scalar(() = $r->{err} =~ /\n/g), 1, "$name: one line")
        or diag($r->{err});
}

# usage_error($r, RE, NAME): exit 2, what is wrong, then the usage
sub usage_error {
    my ($r, $re, $name) = @_;
    is($r->{rc}, 2, "$name: exit 2");
    like($r->{err}, qr/\Ashipoff: .*$re/, "$name: says what is wrong");
    like($r->{err}, qr/^usage: shipoff/m, "$name: then the usage");
}

sub psql { $s->psql($_[0]) }

# ---- usage: --help everywhere, wrong flags and arguments exit 2

my @help = (
    [], ['signup'], ['login'], ['logout'], ['whoami'], ['projects'],
    [qw(projects list)], [qw(projects create)], [qw(projects show)],
    [qw(projects delete)], ['link'], ['unlink'], ['deploy'],
    ['deployments'], ['rollback'], ['cancel'], ['logs'], ['env'],
    [qw(env list)], [qw(env set)], [qw(env unset)], ['teams'],
    [qw(teams list)], [qw(teams create)], [qw(teams show)],
    [qw(teams delete)], [qw(teams invite)], ['tokens'], [qw(tokens list)],
    [qw(tokens create)], [qw(tokens revoke)], ['status'], ['version'],
);
for my $cmd (@help) {
    my $name = join(' ', @$cmd) || '(none)';
    my $r = cli(@$cmd, '--help');
    is($r->{rc}, 0, "$name --help: exit 0");
    # a default subcommand shows as "[list]"
    my $re = join ' ', 'shipoff', map { "\\[?\Q$_\E\\]?" } @$cmd;
    like($r->{out}, qr/^usage: $re(?:\s|$)/, "$name --help: its usage");
    is($r->{err}, '', "$name --help: nothing on stderr");
}

my @bad = (
    [ [qw(--nope)],                        qr/unknown option --nope/ ],
    [ [qw(whoami --nope)],                 qr/unknown option --nope/ ],
    [ [qw(login --email)],                 qr/--email needs a value/ ],
    [ [qw(deploy --wait --timeout soon)],  qr/--timeout takes seconds/ ],
    [ [qw(projects create blog)],          qr/--repo URL is needed/ ],
    [ [qw(projects create)],               qr/missing argument/ ],
    [ [qw(projects frobnicate)],           qr/unknown command "projects frobnicate"/ ],
    [ [qw(frobnicate)],                    qr/unknown command "frobnicate"/ ],
    [ [qw(env set NOEQUALS)],              qr/"NOEQUALS" is not KEY=VALUE/ ],
    [ [qw(tokens revoke abc)],             qr/"abc" is not a token id/ ],
    [ [qw(teams show x1)],                 qr/"x1" is not a team id/ ],
    [ [qw(rollback latest)],               qr/"latest" is not a deployment id/ ],
    [ [qw(whoami extra)],                  qr/unexpected argument "extra"/ ],
    [ [qw(logout --json=1)],               qr/unknown option --json/ ],
);
usage_error(cli(@{ $_->[0] }), $_->[1], "@{ $_->[0] }") for @bad;

# ---- errors before any login

my $port = free_port();
my $r = cli('--api', "http://127.0.0.1:$port", 'whoami');
fails($r, 1, qr/^shipoff: cannot reach http:\/\/127\.0\.0\.1:$port: /,
      'unreachable API');

fails(cli('whoami'), 1, qr/^shipoff: not logged in: run "shipoff login"/,
      'whoami before login');
ok(!-e $conf, 'no configuration file before a login');

ok_run(cli('status'), 'status');

# ---- signup, login, whoami, the configuration file

$r = cli({ stdin => "$pw\n" }, qw(signup --name Ann --password-stdin
                                   --email), $email);
ok_run($r, 'signup');
like($r->{out}, qr/Logged in as \Q$email\E/, 'signup: logged in');
is((stat $conf)[2] & 07777, 0600, 'config file: mode 0600');
is((stat "$home/.config/shipoff")[2] & 07777, 0700, 'config dir: mode 0700');
my $c = json_decode(slurp($conf));
like($c->{refresh_token} // '', qr/^shr_/, 'config: the refresh token');
ok($c->{access_token}, 'config: the access token');
is($c->{api}, $s->url(''), 'config: the API URL');

fails(cli({ stdin => "$pw\n" }, qw(signup --password-stdin --email), $email),
      1, qr/^shipoff: .+ \(email_taken\)$/, 'signup twice');

ok_run(cli('logout'), 'logout');
$c = json_decode(slurp($conf));
ok(!exists $c->{access_token} && !exists $c->{refresh_token},
   'logout: the session is forgotten');
fails(cli('whoami'), 1, qr/not logged in/, 'whoami after logout');

fails(cli({ stdin => "wrong password\n" }, qw(login --email), $email), 1,
      qr/^shipoff: .+ \(invalid_credentials\)$/, 'login, wrong password');

$r = cli({ stdin => "$pw\n" }, qw(login --password-stdin --email), $email);
ok_run($r, 'login, password on stdin');
is((stat $conf)[2] & 07777, 0600, 'login: config file mode 0600');

$r = cli('whoami');
ok_run($r, 'whoami');
like($r->{out}, qr/^\Q$email\E \(Ann\), user \d+, via a password login/,
     'whoami: who and how');
$r = cli(qw(whoami --json));
ok_run($r, 'whoami --json');
is($r->{json}{email}, $email, 'whoami --json: parses, the email');
my $uid = $r->{json}{id};

# XDG_CONFIG_HOME wins over ~/.config
my $xdg = "$tmp/xdg";
$r = cli({ stdin => "$pw\n", env => { XDG_CONFIG_HOME => $xdg } },
         qw(login --email), $email);
ok_run($r, 'login with XDG_CONFIG_HOME');
ok(-f "$xdg/shipoff/config.json", 'XDG_CONFIG_HOME: the file is there');
is((stat "$xdg/shipoff/config.json")[2] & 07777, 0600,
   'XDG_CONFIG_HOME: mode 0600');

# ---- the session is refreshed once when its access token is refused

$c = json_decode(slurp($conf));
my $old_refresh = $c->{refresh_token};
$c->{access_token} = 'eyJhbGciOiJIUzI1NiJ9.e30.broken';
spew($conf, ShipoffTest::json_encode($c));
$r = cli('whoami');
ok_run($r, 'whoami with a refused access token');
like($r->{out}, qr/^\Q$email\E/, 'refresh: the right account');
$c = json_decode(slurp($conf));
isnt($c->{access_token}, 'eyJhbGciOiJIUzI1NiJ9.e30.broken',
     'refresh: a new access token is saved');
isnt($c->{refresh_token}, $old_refresh, 'refresh: the new refresh token too');
is((stat $conf)[2] & 07777, 0600, 'refresh: the file stays 0600');

my $good = { %$c };
$c->{access_token} = 'broken';
$c->{refresh_token} = 'shr_broken';
spew($conf, ShipoffTest::json_encode($c));
fails(cli('whoami'), 1,
      qr/^shipoff: the stored credentials were refused: run "shipoff login"/,
      'a session that cannot be refreshed');
spew($conf, ShipoffTest::json_encode($good));
chmod 0600, $conf;

# ---- personal tokens, login --token, SHIPOFF_TOKEN

$r = cli(qw(tokens create ci --scopes), 'READ,WRITE,DELETE');
ok_run($r, 'tokens create');
like($r->{out}, qr/^sho_[\w-]+\n\z/, 'tokens create: the token alone on stdout');
chomp(my $token = $r->{out});

$r = cli(qw(tokens list));
ok_run($r, 'tokens list');
like($r->{out}, qr/^ID\s+NAME\s+SCOPES.*\n\d+\s+ci\s+READ,WRITE,DELETE/,
     'tokens list: a table');
unlike($r->{out}, qr/\Q$token\E/, 'tokens list: never the token');
$r = cli(qw(tokens list --json));
my ($ci) = grep { $_->{name} eq 'ci' } @{ $r->{json} || [] };
ok($ci && $ci->{id}, 'tokens list --json: parses, the token is there');

my $bob = $s->signup(name => 'Bob');
my $bob_token = $s->api(POST => '/api/v1/tokens', $bob,
                        { name => 'b', scopes => ['READ'] })->{json}{token};

$r = cli({ env => { SHIPOFF_TOKEN => $bob_token } }, 'whoami');
ok_run($r, 'SHIPOFF_TOKEN');
like($r->{out}, qr/^\Q$bob->{user}{email}\E .*via SHIPOFF_TOKEN/,
     'SHIPOFF_TOKEN wins over the stored session');

my $home2 = "$tmp/home2";
mkdir $home2;
$r = cli({ env => { HOME => $home2 } }, qw(login --token), $token);
ok_run($r, 'login --token');
my $c2 = json_decode(slurp("$home2/.config/shipoff/config.json"));
is($c2->{token}, $token, 'login --token: the token is kept');
ok(!exists $c2->{access_token}, 'login --token: no session');
$r = cli({ env => { HOME => $home2 } }, 'whoami');
like($r->{out}, qr/^\Q$email\E .*via a personal token/,
     'whoami with the stored token');

fails(cli({ env => { HOME => "$tmp/home3" } }, qw(login --token sho_nope)),
      1, qr/^shipoff: the token was refused: .* \(unauthorized\)$/,
      'login --token, a bad token');
ok(!-e "$tmp/home3/.config/shipoff/config.json", 'a bad token is not kept');

ok_run(cli(qw(tokens revoke), $ci->{id}), 'tokens revoke');
fails(cli({ env => { HOME => $home2 } }, 'whoami'), 1,
      qr/stored credentials were refused/, 'a revoked token');
fails(cli({ env => { SHIPOFF_TOKEN => $token } }, 'whoami'), 1,
      qr/^shipoff: SHIPOFF_TOKEN was refused/, 'a revoked SHIPOFF_TOKEN');

# ---- projects

my $work = "$tmp/work";
mkdir $work;
mkdir "$work/.git";
spew("$work/.git/HEAD", "ref: refs/heads/feature-x\n");
my $name = "cli$$";
my $repo = 'https://git.example.org/ann/blog.git';

$r = cli({ cwd => $work }, qw(projects create), $name, '--repo', $repo,
         '--link');
ok_run($r, 'projects create --link');
like($r->{out}, qr/^Created project \Q$name\E \(id (\d+)\)/m,
     'projects create: said');
like($r->{out}, qr/^Webhook secret: [0-9a-f]{64} \(shown only now\)/m,
     'projects create: the webhook secret, once');
my $link = json_decode(slurp("$work/.shipoff.json"));
my $pid = $link->{project_id};
ok($pid, '.shipoff.json names the project');

fails(cli(qw(projects create), $name, '--repo', $repo), 1,
      qr/^shipoff: .+ \(name_taken\)$/, 'projects create, a taken name');

$r = cli(qw(projects list));
ok_run($r, 'projects list');
like($r->{out}, qr/^ID\s+NAME\s+URL.*\n\Q$pid\E\s+\Q$name\E\s+http/,
     'projects list: a table');
$r = cli(qw(--json projects));
is(ref $r->{json}, 'ARRAY', 'projects --json: an array');
is(scalar(grep { $_->{name} eq $name } @{ $r->{json} || [] }), 1,
   'projects --json: the project');

$r = cli({ cwd => $work }, qw(projects show));
ok_run($r, 'projects show (linked)');
like($r->{out}, qr/^repository\s+\Q$repo\E$/m, 'projects show: fields');
$r = cli(qw(projects show --json), $pid);
is($r->{json}{name}, $name, 'projects show ID --json');
ok(!exists $r->{json}{webhook_secret}, 'projects show: no secret');
fails(cli(qw(projects show)), 1, qr/which project\? Pass --project NAME/,
      'projects show, nothing linked');
fails(cli(qw(projects show nosuch)), 1, qr/no project "nosuch"/,
      'projects show, no such project');

# ---- env

my @env = (
    [ 'plain',  [qw(env set FOO=bar BAZ=a=b)],           0 ],
    [ 'secret', [qw(env set --secret API_KEY=s3cr3t)],   0 ],
    [ 'target', [qw(env set --target build BUILD_ONLY=1)], 0 ],
);
for my $case (@env) {
    my ($what, $args, $rc) = @$case;
    ok_run(cli({ cwd => $work }, @$args), "env set, $what");
}
fails(cli({ cwd => $work }, qw(env set PATH=/x)), 1,
      qr/^shipoff: .*reserved.* \(validation_failed\)$/,
      'env set, a reserved key');

$r = cli({ cwd => $work }, 'env');
ok_run($r, 'env list');
like($r->{out}, qr/^FOO\s+bar\s+both/m, 'env list: a value');
like($r->{out}, qr/^BAZ\s+a=b\s/m, 'env list: a value with =');
like($r->{out}, qr/^API_KEY\s+\*{6}\s+both/m, 'env list: a secret masked');
unlike($r->{out}, qr/s3cr3t/, 'env list: never the secret');
like($r->{out}, qr/^BUILD_ONLY\s+1\s+build/m, 'env list: the target');
$r = cli(qw(env list --json --project), $name);
my %vars = map { $_->{key} => $_ } @{ $r->{json} || [] };
ok(exists $vars{API_KEY} && !defined $vars{API_KEY}{value}
   && $vars{API_KEY}{secret}, 'env list --json --project: secret is null');

ok_run(cli({ cwd => $work }, qw(env unset FOO BAZ)), 'env unset');
$r = cli({ cwd => $work }, qw(env --json));
ok(!grep({ $_->{key} =~ /^(FOO|BAZ)$/ } @{ $r->{json} || [] }),
   'env unset: gone');
fails(cli({ cwd => $work }, qw(env unset FOO)), 1,
      qr/^shipoff: .+ \(not_found\)$/, 'env unset, not set');

# ---- teams

$r = cli(qw(teams create Crew));
ok_run($r, 'teams create');
my ($tid) = $r->{out} =~ /Created team Crew \(id (\d+)\)/;
ok($tid, 'teams create: the id');
$r = cli(qw(teams));
like($r->{out}, qr/^\Q$tid\E\s+Crew\s+owner/m, 'teams list: a table');
$r = cli(qw(teams list --json));
is(scalar(grep { $_->{id} == ($tid // 0) } @{ $r->{json} || [] }), 1,
   'teams list --json');
$r = cli(qw(teams show), $tid);
like($r->{out}, qr/^\d+\s+\Q$email\E\s+Ann\s+owner/m, 'teams show: members');
ok_run(cli(qw(teams invite), $tid, 'friend@example.com'), 'teams invite');
usage_error(cli(qw(teams delete), $tid), qr/pass --yes/,
            'teams delete without --yes off a terminal');
ok_run(cli(qw(teams delete --yes), $tid), 'teams delete --yes');
fails(cli(qw(teams show), $tid), 1, qr/\(not_found\)$/, 'the team is gone');

# ---- deploy, deployments, rollback, logs

fails(cli({ cwd => $work }, 'rollback'), 1,
      qr/^shipoff: nothing to roll back to: \Q$name\E has no inactive/,
      'rollback with nothing to roll back to');
fails(cli({ cwd => $work }, 'logs'), 1, qr/has no deployments yet/,
      'logs before any deployment');

$r = cli({ cwd => $work }, 'deploy');
ok_run($r, 'deploy');
like($r->{out}, qr/^Deployment (\d+) of \Q$name\E queued \(branch feature-x\)/,
     'deploy: the current git branch');
my ($d1) = $r->{out} =~ /^Deployment (\d+)/;
is(psql("SELECT branch FROM deployments WHERE id = $d1"), 'feature-x',
   'deploy: the branch reached the server');

$r = cli({ cwd => $work }, qw(deploy --json --branch main));
ok_run($r, 'deploy --json --branch');
is($r->{json}{state}, 'QUEUED', 'deploy --json: QUEUED');
is($r->{json}{branch}, 'main', 'deploy --json: the branch');

$r = cli({ cwd => $work }, qw(deploy --wait --timeout 2));
is($r->{rc}, 2, 'deploy --wait --timeout, nothing builds it: exit 2');
like($r->{err}, qr/^\[\s*0s\] QUEUED: manual\nshipoff: deployment \d+ is still QUEUED after 2 s; it goes on on the server[^\n]*\n\z/,
     'deploy --wait --timeout: the progress, then one line why');
like($r->{out}, qr/^Deployment \d+ .* queued/, 'deploy --wait: the id first');

# deploy --wait follows the deployment to its end, as the builder moves it
my @ends = (
    [ [qw(BUILDING PROVISIONING PRODUCTION)], 0, qr/is live/ ],
    [ [qw(BUILDING FAILED)],                  1, qr/ended FAILED: test/ ],
    [ [qw(CANCELED)],                         1, qr/ended CANCELED: test/ ],
);
my @done;
for my $case (@ends) {
    my ($states, $rc, $re) = @$case;
    my $before = psql("SELECT coalesce(max(id), 0) FROM deployments");
    my $run = cli_start({ cwd => $work }, qw(deploy --wait --timeout 30));
    my $id;
    for (1 .. 100) {
        $id = psql("SELECT max(id) FROM deployments WHERE id > $before");
        last if $id;
        select undef, undef, undef, 0.1;
    }
    sleep 1;
    psql(join '', map { "UPDATE deployments SET state = '$_',"
                        . " reason = 'test' WHERE id = $id;\n" } @$states);
    $r = cli_finish($run);
    is($r->{rc}, $rc, "deploy --wait to $states->[-1]: exit $rc")
        or diag($r->{err});
    like($r->{out} . $r->{err}, $re, "deploy --wait to $states->[-1]: said");
    like($r->{err}, qr/^\[\s*\d+s\] QUEUED: manual$/m,
         "deploy --wait to $states->[-1]: the progress");
    push @done, $id;
}

$r = cli({ cwd => $work }, 'deployments');
ok_run($r, 'deployments');
like($r->{out}, qr/^ID\s+STATE\s+BRANCH.*\n\Q$done[-1]\E\s+CANCELED/,
     'deployments: newest first');
$r = cli({ cwd => $work }, qw(deployments --json --limit 2));
is(scalar @{ $r->{json} || [] }, 2, 'deployments --json --limit');

fails(cli({ cwd => $work }, 'rollback', $d1), 1,
      qr/^shipoff: .+ \(invalid_state\)$/, 'rollback to a QUEUED deployment');

# the live one steps down; it and an older one are kept builds: rollback
# picks the most recent
my $live = $done[0];
psql("UPDATE deployments SET state = 'INACTIVE' WHERE id = $live;"
     . " UPDATE deployments SET artifact_path = '/srv/x' WHERE id = $live;"
     . join('', map { "UPDATE deployments SET state = '$_' WHERE id = $d1;\n" }
            qw(BUILDING PROVISIONING PRODUCTION INACTIVE))
     . " UPDATE deployments SET artifact_path = '/srv/y' WHERE id = $d1;");
$r = cli({ cwd => $work }, 'rollback');
ok_run($r, 'rollback');
like($r->{out}, qr/^Deployment \Q$live\E is in production again/,
     'rollback: the most recent kept build');
is(psql("SELECT state FROM deployments WHERE id = $live"), 'PRODUCTION',
   'rollback: PRODUCTION');
$r = cli(qw(rollback --json), $d1);
is($r->{json}{state}, 'PRODUCTION', 'rollback ID --json');
is(psql("SELECT state FROM deployments WHERE id = $live"), 'INACTIVE',
   'rollback ID: the other one steps down');

my ($queued) = psql("SELECT id FROM deployments WHERE project_id = $pid"
                    . " AND state = 'QUEUED' ORDER BY id LIMIT 1");
ok_run(cli('cancel', $queued), 'cancel');
is(psql("SELECT state FROM deployments WHERE id = $queued"), 'CANCELED',
   'cancel: CANCELED');
fails(cli('cancel', $queued), 1, qr/\(invalid_state\)$/, 'cancel twice');

# logs: lines stored as shipoffd stores them (it is stopped here): in
# log_lines, and announced on the Redis stream logs:<id> for a live tail
sub log_line {
    my ($id, $stream, $text) = @_;
    psql("INSERT INTO log_lines (deployment_id, project_id, stream, line)"
         . " VALUES ($id, $pid, '$stream', '$text')");
    $s->redis('XADD', "logs:$id", '*', 'at', '2026-01-01T00:00:00.000Z',
              'stream', $stream, 'line', $text);
}

log_line($live, 'stdout', 'hello from the build');
log_line($live, 'stderr', 'an error happened');
log_line($live, 'stdout', '{"level":"warn","msg":"json line"}');
my $inactive = psql("SELECT state FROM deployments WHERE id = $live");
$s->redis('XADD', "logs:$live", '*', 'at', '2026-01-01T00:00:01.000Z',
          'event', 'end', 'state', $inactive);
$r = cli('logs', $live);
ok_run($r, 'logs ID');
is($r->{out}, "hello from the build\nan error happened\n"
   . "{\"level\":\"warn\",\"msg\":\"json line\"}\n",
   'logs ID: the lines, in order');
$r = cli(qw(logs --json), $live);
my @lines = map { json_decode($_) } split /\n/, $r->{out};
is(scalar @lines, 3, 'logs --json: one object a line');
is($lines[1]{stream}, 'stderr', 'logs --json: with its stream');
is($lines[2]{fields}{level}, 'warn',
   'logs --json: a JSON line keeps its fields');
$r = cli({ cwd => $work }, qw(logs --search error));
ok_run($r, 'logs --search');
is($r->{out}, "[$live] an error happened\n",
   'logs --search: the project\'s matching lines, with their deployment');
$r = cli(qw(logs --search hello), $live);
is($r->{out}, "hello from the build\n", 'logs ID --search');
$r = cli({ cwd => $work }, qw(logs --search nothing-matches-this));
ok_run($r, 'logs --search, no match');
is($r->{out}, '', 'logs --search, no match: nothing');
usage_error(cli(qw(logs -f --search error), $live),
            qr/-f and --search do not go together/, 'logs -f --search');
fails(cli(qw(logs 999999999)), 1, qr/\(not_found\)$/,
      'logs of no such deployment');
fails(cli(qw(logs -f 999999999)), 1, qr/\(not_found\)$/,
      'logs -f of no such deployment');

# -f of a finished deployment: its lines, then the end
$r = cli(qw(logs -f), $live);
ok_run($r, "logs -f of a finished ($inactive) deployment");
is($r->{out}, "hello from the build\nan error happened\n"
   . "{\"level\":\"warn\",\"msg\":\"json line\"}\n", 'logs -f: the lines');
like($r->{err}, qr/^shipoff: deployment $live ended $inactive\n\z/,
     'logs -f: then the end');

# -f of a build in progress: lines as they come; the connection drops
# (nginx restarted) and comes back with Last-Event-ID; the end of the
# build ends it
$r = cli({ cwd => $work }, qw(deploy --json));
my $dq = $r->{json}{id};
my $tail = cli_start('logs', '-f', $dq);
log_line($dq, 'stdout', 'live one');
my $seen;
for (1 .. 100) {
    last if ($seen = slurp("$tail->{io}.out")) =~ /live one/;
    select undef, undef, undef, 0.1;
}
is($seen, "live one\n", 'logs -f: a line printed as it comes');
$s->stop('nginx');
log_line($dq, 'stdout', 'live two');
$s->start('nginx');
log_line($dq, 'stdout', 'live three');
psql("UPDATE deployments SET state = 'BUILDING' WHERE id = $dq;"
     . " UPDATE deployments SET state = 'FAILED', reason = 'test'"
     . " WHERE id = $dq");
$s->redis('XADD', "logs:$dq", '*', 'at', '2026-01-01T00:00:01.000Z',
          'event', 'end', 'state', 'FAILED');
$r = cli_finish($tail);
is($r->{rc}, 1, 'logs -f: exit 1 when the build FAILED');
is($r->{out}, "live one\nlive two\nlive three\n",
   'logs -f: every line once, across the dropped connection');
like($r->{err}, qr/^shipoff: deployment $dq ended FAILED\n\z/,
     'logs -f: the end, nothing else');

# ---- delete, logout

usage_error(cli(qw(projects delete), $name), qr/pass --yes/,
            'projects delete without --yes off a terminal');
ok_run(cli(qw(projects delete --yes), $name), 'projects delete --yes');
fails(cli(qw(projects show), $pid), 1, qr/\(not_found\)$/,
      'the project is gone');

ok_run(cli('logout'), 'logout at the end');
fails(cli('whoami'), 1, qr/not logged in/, 'logged out');

done_testing;
