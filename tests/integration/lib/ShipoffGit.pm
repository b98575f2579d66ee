# ShipoffGit: a real smart-HTTP git server on loopback for the tests:
# nginx (a small config of its own, no Shipoff module) in front of
# fcgiwrap running `git http-backend`, in a temp dir, on a free port,
# stopped at exit whatever happened.  Perl core modules only.
#
#   use lib 'tests/integration/lib';
#   use ShipoffGit;
#
#   my $g = ShipoffGit->start(auth => { user => 'x-access-token',
#                                       password => $token });
#   my $url = $g->repo('site', 'tests/fixtures/sites/plain');
#       # a copy of the fixture, committed on branch main; its clone URL
#   my $sha = $g->commit('site', { 'build.sh' => "echo hi\n" },
#                        'a message');    # a new commit, pushed: its id
#   my $priv = $g->repo('secret', $dir, private => 1);
#       # served under /private/, behind HTTP basic auth (start's auth)
#   $g->url('site');  $g->auth_url('secret');  (with user:password@)
#   $g->logs          (nginx's and fcgiwrap's logs, for diag)
#
# Each repository is a bare one under the server's GIT_PROJECT_ROOT, fed by
# a working copy beside it: commit() writes the files there, commits and
# pushes, so what a client clones is exactly what a `git push` left.

package ShipoffGit;

use strict;
use warnings;
use Digest::SHA qw(sha1_base64);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);
use ShipoffTest qw(free_port tempdir top_dir run);

my $NGINX = $ENV{NGINX} || '/usr/sbin/nginx';
my $BACKEND = '/usr/lib/git-core/git-http-backend';

my %running;    # process group => 1, of every server started here

END { local $?; stop_group($_) for keys %running }

sub stop_group {
    my ($pgid) = @_;
    return unless delete $running{$pgid};
    kill 'TERM', -$pgid;
    for (1 .. 50) {
        last unless kill 0, -$pgid;
        waitpid(-1, POSIX::WNOHANG());
        sleep 0.05;
    }
    kill 'KILL', -$pgid;
    waitpid($pgid, 0);
}

# spawn(LOG, CMD...): CMD in a process group of its own; its pid
sub spawn {
    my ($log, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        $SIG{INT} = $SIG{TERM} = 'DEFAULT';
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    $running{$pid} = 1;
    return $pid;
}

sub write_file {
    my ($path, $text, $mode) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
    chmod $mode, $path if defined $mode;
}

sub start {
    my ($class, %opt) = @_;
    die "ShipoffGit: $BACKEND is missing (scripts/deps installs git)\n"
        unless -x $BACKEND;
    my $dir = tempdir();
    my $self = bless { dir => $dir, auth => $opt{auth} }, $class;
    mkdir "$dir/$_" for qw(srv srv/private work tmp);

    # user/password of the private repositories ({SHA}: nginx's form)
    my $auth = $opt{auth} || { user => 'git', password => rand() };
    write_file("$dir/htpasswd",
               "$auth->{user}:{SHA}" . sha1_base64($auth->{password}) . "=\n",
               0600);

    $self->{fcgi} = spawn("$dir/fcgiwrap.log", 'fcgiwrap', '-c', '4',
                          '-p', $BACKEND, '-s', "unix:$dir/fcgiwrap.sock");
    for (1 .. 100) {
        last if -S "$dir/fcgiwrap.sock";
        sleep 0.05;
    }
    die "ShipoffGit: fcgiwrap did not start:\n" . $self->logs
        unless -S "$dir/fcgiwrap.sock";

    # a port drawn by free_port() may be taken before nginx binds it
    for my $try (1 .. 3) {
        $self->{port} = free_port();
        write_file("$dir/nginx.conf", $self->nginx_conf);
        $self->{nginx} = spawn("$dir/nginx.log", $NGINX, '-p', "$dir/",
                               '-c', "$dir/nginx.conf",
                               '-e', "$dir/error.log");
        for (1 .. 100) {
            return $self if IO::Socket::INET->new(
                PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                Proto => 'tcp');
            last if waitpid($self->{nginx}, POSIX::WNOHANG()) > 0;
            sleep 0.05;
        }
        stop_group($self->{nginx});
    }
    die "ShipoffGit: nginx did not start:\n" . $self->logs;
}

sub nginx_conf {
    my ($self) = @_;
    my ($dir, $port) = @$self{qw(dir port)};
    # the backend runs as whoever runs the tests, as do the repositories'
    # owners: git refuses to serve a repository another user owns
    my $user = $> == 0 ? 'user root;' : '';
    my $fastcgi = <<"EOF";
            fastcgi_pass unix:$dir/fcgiwrap.sock;
            fastcgi_param SCRIPT_FILENAME $BACKEND;
            fastcgi_param GIT_PROJECT_ROOT $dir/srv;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO \$uri;
            fastcgi_param QUERY_STRING \$query_string;
            fastcgi_param REQUEST_METHOD \$request_method;
            fastcgi_param CONTENT_TYPE \$content_type;
            fastcgi_param CONTENT_LENGTH \$content_length;
            fastcgi_param REMOTE_USER \$remote_user;
            fastcgi_param REMOTE_ADDR \$remote_addr;
            fastcgi_param SERVER_PROTOCOL \$server_protocol;
            fastcgi_param HTTP_CONTENT_ENCODING \$http_content_encoding;
            fastcgi_param GIT_CONFIG_NOSYSTEM 1;
EOF
    return <<"EOF";
$user
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$port;
        location /private/ {
            auth_basic "git";
            auth_basic_user_file $dir/htpasswd;
$fastcgi
        }
        location / {
$fastcgi
        }
    }
}
EOF
}

sub port { $_[0]{port} }

sub path_of {
    my ($self, $name) = @_;
    my $r = $self->{repos}{$name} or die "ShipoffGit: no repository $name\n";
    return $r->{private} ? "private/$name.git" : "$name.git";
}

# the clone URL of a repository
sub url {
    my ($self, $name) = @_;
    return "http://127.0.0.1:$self->{port}/" . $self->path_of($name);
}

# the same with start's user and password in it (for `git clone`)
sub auth_url {
    my ($self, $name) = @_;
    my $a = $self->{auth} or die "ShipoffGit: started without auth\n";
    my $enc = sub {
        (my $v = $_[0]) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
        $v;
    };
    return "http://" . $enc->($a->{user}) . ':' . $enc->($a->{password})
        . "\@127.0.0.1:$self->{port}/" . $self->path_of($name);
}

sub git {
    my ($self, $name, @args) = @_;
    my ($rc, $out) = run('git', '-C', "$self->{dir}/work/$name",
                         '-c', 'user.name=Shipoff Test',
                         '-c', 'user.email=test@shipoff.invalid', @args);
    die "git @args: $out" if $rc;
    chomp $out;
    return $out;
}

# repo(NAME, FIXTURE_DIR[, private => 1, branch => 'main']): a repository
# holding a copy of the fixture, committed; its clone URL
sub repo {
    my ($self, $name, $fixture, %opt) = @_;
    die "ShipoffGit: $name: a name of letters, digits, - and _\n"
        unless $name =~ /^[A-Za-z0-9_-]+$/;
    die "ShipoffGit: repository $name exists\n" if $self->{repos}{$name};
    my $branch = $opt{branch} // 'main';
    $self->{repos}{$name} = { private => $opt{private} ? 1 : 0,
                              branch => $branch };
    my $bare = "$self->{dir}/srv/" . $self->path_of($name);
    my $work = "$self->{dir}/work/$name";

    my ($rc, $out) = run('git', 'init', '-q', '--bare', '-b', $branch, $bare);
    die "git init $bare: $out" if $rc;
    mkdir $work or die "$work: $!";
    if (defined $fixture) {
        $fixture = top_dir() . "/$fixture" unless $fixture =~ m{^/};
        ($rc, $out) = run('cp', '-a', "$fixture/.", $work);
        die "cp $fixture: $out" if $rc;
    }
    $self->git($name, 'init', '-q', '-b', $branch);
    $self->git($name, 'remote', 'add', 'origin', $bare);
    $self->commit($name, {}, "the fixture" . (defined $fixture ? '' : ' (empty)'));
    return $self->url($name);
}

# commit(NAME, { PATH => CONTENT (undef: delete) }[, MESSAGE]): a commit
# of those changes, pushed to the served repository; its id
sub commit {
    my ($self, $name, $files, $msg) = @_;
    my $work = "$self->{dir}/work/$name";
    for my $path (sort keys %{ $files || {} }) {
        die "ShipoffGit: $path is not a relative path\n"
            if $path =~ m{^/|(^|/)\.\.(/|$)};
        if (!defined $files->{$path}) {
            unlink "$work/$path";
            next;
        }
        (my $d = "$work/$path") =~ s{/[^/]+$}{};
        run('mkdir', '-p', $d);
        write_file("$work/$path", $files->{$path});
    }
    $self->git($name, 'add', '-A');
    $self->git($name, 'commit', '-q', '--allow-empty', '-m',
               $msg // 'a change');
    $self->git($name, 'push', '-q', 'origin',
               "HEAD:refs/heads/$self->{repos}{$name}{branch}");
    return $self->git($name, 'rev-parse', 'HEAD');
}

# the text of its logs
sub logs {
    my ($self) = @_;
    my $text = '';
    for my $f (map { "$self->{dir}/$_" }
               qw(error.log nginx.log fcgiwrap.log access.log))
    {
        open my $fh, '<', $f or next;
        local $/;
        $text .= "---- $f\n" . (<$fh> // '');
    }
    return $text;
}

sub stop {
    my ($self) = @_;
    stop_group($_) for grep { defined } @$self{qw(nginx fcgi)};
}

sub DESTROY { $_[0]->stop }

1;
