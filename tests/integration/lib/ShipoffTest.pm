# ShipoffTest: what every integration test needs, with Perl core modules only.
#
#   use lib 'tests/integration/lib';
#   use ShipoffTest qw(free_port http tempdir);
#
#   my $port = free_port();
#   my $res  = http(GET => "http://127.0.0.1:$port/x", undef, { Accept => 'x' });
#   $res->{status}, $res->{headers}{'content-type'}, $res->{content},
#   $res->{json}  (decoded when the body is JSON)

package ShipoffTest;

use strict;
use warnings;
use POSIX ();
use Time::HiRes ();
use Exporter 'import';
use File::Temp ();
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP ();

our @EXPORT_OK = qw(git_bomb silent_server free_port http tempdir top_dir json_encode json_decode
                    stack_up run error_is in_chroot wait_for
                    sandbox_stack_up);

my $json = JSON::PP->new->canonical->allow_nonref;

sub json_encode { $json->encode($_[0]) }
sub json_decode { $json->decode($_[0]) }

# the repository's root, whatever the current directory
sub top_dir {
    my $dir = __FILE__;
    $dir =~ s{/tests/integration/lib/ShipoffTest\.pm$}{};
    $dir = '.' if $dir eq __FILE__ || $dir eq '';
    require Cwd;
    return Cwd::abs_path($dir);
}

# A port nobody listens on now, drawn at random below the kernel's
# ephemeral range (32768-60999 on Linux) so that outgoing connections never
# take it; another test may still draw the same one between our check and
# the server's bind, which stack_up() survives by trying again.
sub free_port {
    for (1 .. 100) {
        my $port = 20000 + int(rand(12000));
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => $port, Proto => 'tcp',
            Listen => 1, ReuseAddr => 1) or next;
        close $s;
        return $port;
    }
    die "free_port: no free port found";
}

# A temp dir others (postgres, nginx workers) may traverse; removed at exit
# unless SHIPOFF_KEEP_TMP is set.
sub tempdir {
    my $dir = File::Temp::tempdir('shipoff-test-XXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{SHIPOFF_KEEP_TMP});
    chmod 0755, $dir;
    return $dir;
}

sub http {
    my ($method, $url, $body, $headers) = @_;
    my $ua = HTTP::Tiny->new(timeout => 30, max_redirect => 0);
    my %opt = (headers => $headers || {});
    if (defined $body) {
        $opt{content} = ref $body ? $json->encode($body) : $body;
        $opt{headers}{'Content-Type'} //= 'application/json';
    }
    my $res = $ua->request($method, $url, \%opt);
    if (($res->{headers}{'content-type'} // '') =~ m{^application/json}
        && length($res->{content} // ''))
    {
        $res->{json} = eval { $json->decode($res->{content}) };
    }
    return $res;
}

# error_is($res, STATUS, CODE, NAME[, FIELD]): an error answer, as tests
# (Test::More) of its status, error code (when defined) and field
sub error_is {
    my ($res, $status, $code, $name, $field) = @_;
    Test::More::is($res->{status}, $status, "$name: $status")
        or Test::More::diag($res->{content});
    Test::More::is($res->{json}{error}{code}, $code, "$name: $code")
        if defined $code;
    Test::More::is($res->{json}{error}{field}, $field, "$name: field $field")
        if defined $field;
}

# wait_for(SECONDS, CODE): CODE every 0.1 s until it answers true or
# SECONDS have passed; what it answered last
sub wait_for {
    my ($secs, $code) = @_;
    my $end = Time::HiRes::time() + $secs;
    my $v;
    until (($v = $code->()) || Time::HiRes::time() > $end) {
        Time::HiRes::sleep(0.1);
    }
    return $v;
}

# 1 inside a chroot (as ../shared/bin/fresh-machine-check runs the tests):
# there "/" is not a mount point, so no line of /proc/self/mountinfo has it
# as its mount point.  The kernel refuses new namespaces there, so builds
# cannot be sandboxed; anywhere else the sandboxed tests must run.
sub in_chroot {
    open my $fh, '<', '/proc/self/mountinfo' or return 0;
    while (<$fh>) {
        return 0 if (split ' ')[4] eq '/';
    }
    return 1;
}

# run(CMD, ARGS...): runs a command, returns (exit code, stdout+stderr)
sub run {
    my @cmd = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

# stack_up(): the whole platform (scripts/stack) in a temp dir on free
# ports.  It is torn down when the object goes away, at exit, and on
# SIGINT/SIGTERM, whether the tests passed or not.
#
#   my $s = stack_up();
#   $s->url('/api/v1/health');  $s->stop('redis');  $s->start('redis');
#   $s->control(GET => '/_shipoff/routes')  (nginx's control socket)
#   $s->conf  (path of its shipoff.conf)  $s->var  $s->{HTTP_PORT} ...
#
#   stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s' }): extra environment
#   for scripts/stack and every program it starts (SHIPOFF_<KEY> overrides
#   any configuration key).
#
#   my $u = $s->signup;   (or signup(email => ..., password => ..., name => ...))
#   http(GET => $s->url('/api/v1/me'), undef, $s->auth_header($u));
#   $s->api(GET => '/api/v1/me', $u);   error_is($res, 404, 'not_found', ...)
my @stacks;

sub stack_up {
    my (%opt) = @_;
    my ($self, $rc, $out);

    # a port drawn by free_port() can be taken before our servers bind it:
    # then the stack is torn down and started again on other ports
    for my $try (1 .. 3) {
        my $var = tempdir();
        # a cgroup parent of its own: its down kills its apps, no other's;
        # tests queue many builds with no builder running: no build quota
        # unless a test sets one (89-quotas)
        my %env = (SHIPOFF_VAR => $var,
                   SHIPOFF_SANDBOX_CGROUP_PARENT => "shipoff-test-$$-$try",
                   SHIPOFF_QUOTA_BUILDS_ACTIVE => '0',
                   %{ $opt{env} || {} });
        for my $p (qw(HTTP PG)) {
            $env{"SHIPOFF_${p}_PORT"} = free_port();
        }
        $self = bless { var => $var, env => \%env }, 'ShipoffTest::Stack';
        push @stacks, $self;
        ($rc, $out) = $self->stack('up');
        return $self if $rc == 0;
        last unless $self->port_clash;
        print STDERR "# stack up: a port was taken, trying again\n";
        $self->down;
    }

    $self->dump_logs;
    die "stack up failed ($rc):\n$out";
}

# git_bomb(DIR): a repository at DIR whose branch main holds a "git bomb":
# one blob, and trees of ten entries each naming the level below, seven
# levels deep: a few objects, 10^7 files once checked out
sub git_bomb {
    my ($dir) = @_;
    my @git = ('git', '-C', $dir, '-c', 'user.name=t', '-c', 'user.email=t@e');
    my ($rc, $out) = run('git', 'init', '-q', '-b', 'main', $dir);
    die "git init: $out" if $rc;
    (undef, my $obj) = run('sh', '-c', "echo x | git -C $dir hash-object"
                                       . " -w --stdin");
    chomp $obj;
    my $type = 'blob';
    for (1 .. 7) {
        my $mode = $type eq 'blob' ? '100644' : '040000';
        my $entries = join '', map { "$mode $type $obj\tf$_\n" } 0 .. 9;
        (undef, $obj) = run('sh', '-c', "printf '$entries' | git -C $dir"
                                        . " mktree");
        chomp $obj;
        $type = 'tree';
    }
    (undef, my $commit) = run(@git, 'commit-tree', $obj, '-m', 'bomb');
    chomp $commit;
    ($rc, $out) = run(@git, 'update-ref', 'refs/heads/main', $commit);
    die "git update-ref: $out" if $rc;
    return $dir;
}

# silent_server(): a listener on loopback that accepts every connection and
# never answers, in a child process; (its port, the child's pid to kill)
sub silent_server {
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 16, ReuseAddr => 1)
        or die "listen: $!";
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my @held;
        while (my $c = $l->accept) { push @held, $c }
        POSIX::_exit(0);
    }
    close $l;
    return ($port, $pid);
}

# sandbox_stack_up(%opt): stack_up(%opt) for a test that builds in the
# sandbox with `shipoffd build ID`: skips the whole file where the sandbox
# cannot run (a chroot, not root, no bubblewrap), gives the stack a cgroup
# parent of its own, removed at exit, and stops shipoffd so nothing else
# claims the deployments
my @cg_parents;

sub sandbox_stack_up {
    my (%opt) = @_;
    require Test::More;
    Test::More::plan(skip_all => 'in a chroot: the kernel refuses the '
                                 . 'sandbox its namespaces') if in_chroot();
    Test::More::plan(skip_all => 'needs root (cgroups and a sandbox uid)')
        if $> != 0;
    Test::More::plan(skip_all => 'needs bubblewrap')
        unless -x '/usr/bin/bwrap';

    my $cg = "shipoff-test-$$-s" . (@cg_parents + 1);
    push @cg_parents, $cg;
    my $self = stack_up(%opt, env => { %{ $opt{env} || {} },
                                       SHIPOFF_SANDBOX_CGROUP_PARENT => $cg });
    $self->stop('shipoffd');
    return $self;
}

# At exit every stack goes down, and a sanitizer report in any of its logs
# (make SANITIZER=address|undefined) fails the test file.
END {
    my $status = $?;
    my @reports;
    for my $s (grep { defined } @stacks) {
        $s->down;
        push @reports, $s->sanitizer_reports;
    }
    for my $cg (@cg_parents) {
        rmdir "/sys/fs/cgroup/$_/$cg" for qw(memory pids cpu freezer);
    }
    if (@reports) {
        print STDERR "# sanitizer reports:\n", map { "# $_\n" } @reports;
        $status ||= 1;
    }
    $? = $status;
}
$SIG{INT} = $SIG{TERM} = sub { $_->down for grep { defined } @stacks; exit 1 };

package ShipoffTest::Stack;

sub var  { $_[0]{var} }
sub conf { "$_[0]{var}/shipoff.conf" }
sub port { $_[0]{env}{"SHIPOFF_\U$_[1]\E_PORT"} }
sub url  { "http://127.0.0.1:" . $_[0]->port('http') . $_[1] }

sub stack {
    my ($self, @args) = @_;
    local %ENV = (%ENV, %{ $self->{env} });
    return ShipoffTest::run(ShipoffTest::top_dir() . '/scripts/stack', @args);
}

# signup(%args): a new account through POST /auth/v1/signup; dies unless
# 201.  Returns the decoded answer: {user, access_token, refresh_token...}
my $signups = 0;

# build_now(ID): `shipoffd build ID` in the foreground (the stack's
# shipoffd stopped, as sandbox_stack_up leaves it), output to /dev/null;
# its exit code, and the deployment's "STATE reason"
sub build_now {
    my ($self, $id) = @_;
    my $shipoffd = $ENV{SHIPOFFD}
                   // ShipoffTest::top_dir() . '/builder/shipoffd';
    my $child = fork // die "fork: $!";
    if (!$child) {
        %ENV = (%ENV, %{ $self->{env} });
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec($shipoffd, '-c', $self->conf, 'build', $id)
            or POSIX::_exit(127);
    }
    waitpid($child, 0);
    my $rc = $? >> 8;
    return ($rc, $self->psql("SELECT state || ' ' || coalesce(reason, '')"
                             . " FROM deployments WHERE id = $id"));
}

sub signup {
    my ($self, %args) = @_;
    $signups++;
    my %body = (email => "user$signups-$$\@example.com",
                password => 'correct horse battery', name => 'Test User',
                %args);
    my $res = ShipoffTest::http(POST => $self->url('/auth/v1/signup'),
                                \%body);
    die "signup $body{email}: $res->{status} $res->{content}\n"
        unless $res->{status} == 201 && $res->{json};
    return $res->{json};
}

# auth_header($signup_answer or $token): { Authorization => "Bearer ..." }
sub auth_header {
    my ($self, $t) = @_;
    $t = $t->{access_token} if ref $t;
    return { Authorization => "Bearer $t" };
}

# api(METHOD, PATH, WHO, BODY): a request to the stack; WHO is a signup
# answer or a token string (undef: anonymous)
sub api {
    my ($self, $method, $path, $who, $body) = @_;
    return ShipoffTest::http($method => $self->url($path), $body,
                             $who ? $self->auth_header($who) : {});
}

# control(METHOD, PATH, BODY): a request to nginx's control server on its
# Unix socket (run/control/nginx.sock, root only), answered like http()
sub control {
    my ($self, $method, $path, $body) = @_;
    my $sock = IO::Socket::UNIX->new(
        Peer => "$self->{var}/run/control/nginx.sock", Timeout => 10)
        or die "control: connect: $!";
    $body = ShipoffTest::json_encode($body) if ref $body;
    $body //= '';
    print $sock "$method $path HTTP/1.0\r\nHost: localhost\r\n"
                . "Content-Type: application/json\r\n"
                . "Content-Length: " . length($body) . "\r\n\r\n$body";
    local $/;
    my $raw = <$sock> // '';
    close $sock;
    my ($head, $content) = split /\r\n\r\n/, $raw, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d{3})}
        or die "control $method $path: no answer";
    my %headers;
    $headers{ lc $1 } = $2 while $head =~ /^([^:\r\n]+): *(.*?)\r?$/mg;
    my $res = { status => $status, headers => \%headers,
                content => $content // '' };
    $res->{json} = eval { ShipoffTest::json_decode($res->{content}) }
        if ($headers{'content-type'} // '') =~ m{^application/json};
    return $res;
}

# psql($sql): runs SQL as postgres in the shipoff database; its output
sub psql {
    my ($self, $sql) = @_;
    my ($rc, $out) = ShipoffTest::run('psql', '-X', '-q', '-tA',
        '-h', "$self->{var}/run/pg", '-p', $self->port('pg'),
        '-U', 'postgres', '-d', 'shipoff', '-c', $sql);
    die "psql: $out" if $rc;
    chomp $out;
    return $out;
}

# logs(): the text of every log file, to check what must not be there
sub logs {
    my ($self) = @_;
    my $text = '';
    for my $f (glob "$self->{var}/log/*.log") {
        open my $fh, '<', $f or next;
        local $/;
        $text .= <$fh> // '';
    }
    return $text;
}

# log_text(DEPLOYMENT): its stored log, "stream: line" per line
sub log_text {
    my ($self, $id) = @_;
    return $self->psql("SELECT string_agg(stream || ': ' || line, E'\\n'"
                       . " ORDER BY id) FROM log_lines"
                       . " WHERE deployment_id = $id");
}

# redis(ARGS...): redis-cli on the stack's socket; dies on failure
sub redis {
    my ($self, @args) = @_;
    my ($rc, $out) = ShipoffTest::run('redis-cli', '-s',
                                      "$self->{var}/run/redis.sock", @args);
    die "redis-cli @args: $out" if $rc;
    return $out;
}

sub start { my ($self, $part) = @_; $self->stack('start', $part) }
sub stop  { my ($self, $part) = @_; $self->stack('stop', $part) }

sub down {
    my ($self) = @_;
    return if $self->{down}++;
    $self->dump_logs if $ENV{SHIPOFF_TEST_LOGS};
    $self->stack('down');
}

# the lines of its logs where a sanitizer reported something
sub sanitizer_reports {
    my ($self) = @_;
    my @found;
    for my $f (glob "$self->{var}/log/*.log") {
        open my $fh, '<', $f or next;
        while (my $line = <$fh>) {
            push @found, "$f: $line" =~ s/\s+$//r
                if $line =~ /ERROR: (?:Address|Leak)Sanitizer|runtime error: /;
        }
    }
    return @found;
}

# did the last start fail because a port was in use?
sub port_clash {
    my ($self) = @_;
    for my $f (glob "$self->{var}/log/*.log") {
        open my $fh, '<', $f or next;
        local $/;
        my $text = <$fh> // '';
        return 1 if $text =~ /Address already in use|could not bind|bind\(\) to .* failed/;
    }
    return 0;
}

sub dump_logs {
    my ($self) = @_;
    for my $f (glob "$self->{var}/log/*.log") {
        open my $fh, '<', $f or next;
        local $/;
        my $text = <$fh> // '';
        $text =~ s/^/# /mg;
        print STDERR "# ---- $f\n$text";
    }
}

1;
