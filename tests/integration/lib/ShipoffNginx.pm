# ShipoffNginx: a real nginx with the Shipoff module, for integration tests.
#
#   use lib 'tests/integration/lib';
#   use ShipoffNginx qw(nginx_conf start_nginx request);
#
#   my $prefix = tempdir();  my $port = free_port();
#   my $master = start_nginx($prefix, nginx_conf(prefix => $prefix,
#       port => $port, http => '...', server => '...'), $port);
#   my $res = request($port, GET => '/x', headers => { Host => 'a.test' });
#   $res->{status}, $res->{headers}{'retry-after'}, $res->{content}, $res->{json}
#
# Every nginx started here is stopped at exit (its whole process group),
# whatever happened.  Perl core modules only.

package ShipoffNginx;

use strict;
use warnings;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);
use ShipoffTest qw(free_port top_dir json_encode json_decode);

our @EXPORT_OK = qw($NGINX $MODULE nginx_conf nginx_test nginx_config_cases
                    check_answer start_nginx
                    stop_nginx reload_nginx bad_log_lines write_file read_file
                    request send_request read_response);

our $NGINX = $ENV{NGINX} || '/usr/sbin/nginx';
# SHIPOFF_NGINX_MODULE: another build of the module (e.g. with a sanitizer)
our $MODULE = $ENV{SHIPOFF_NGINX_MODULE}
    || top_dir() . '/nginx-modules/build/ngx_http_shipoff_module.so';

my %running;    # master pid => prefix, of every nginx started here

END { local $?; stop_nginx($_) for keys %running }

# A whole nginx.conf: Debian's nginx has compiled-in paths, so everything
# it writes (pid, logs, temp files) goes to the prefix.
sub nginx_conf {
    my (%c) = @_;
    my $tmp = $c{prefix};
    my $port = $c{port} || free_port();
    my $http = $c{http} // '';
    my $server = $c{server} // '';
    my $main = $c{main} // '';
    return <<"EOF";
load_module $MODULE;
daemon off;
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/error.log info;
$main
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    $http
    server {
        listen 127.0.0.1:$port;
        $server
    }
}
EOF
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# nginx -t: (accepted, its output)
sub nginx_test {
    my ($prefix, $conf) = @_;
    write_file("$prefix/nginx.conf", $conf);
    my $out = qx{$NGINX -t -p $prefix/ -c $prefix/nginx.conf 2>&1};
    return ($? == 0, $out);
}

# Config cases as data: each a name, the http and server pieces of
# nginx_conf, and the error `nginx -t` must give (accepted without one).
sub nginx_config_cases {
    for my $case (@_) {
        my $prefix = ShipoffTest::tempdir();
        my ($ok, $out) = nginx_test($prefix, nginx_conf(prefix => $prefix, %$case));
        if ($case->{error}) {
            Test::More::ok(!$ok, "nginx -t rejects: $case->{name}")
                or Test::More::diag($out);
            Test::More::like($out, $case->{error}, "  with the right message")
                if !$ok;
        } else {
            Test::More::ok($ok, "nginx -t accepts: $case->{name}")
                or Test::More::diag($out);
        }
    }
}

sub start_nginx {
    my ($prefix, $conf, $port) = @_;
    write_file("$prefix/nginx.conf", $conf);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        POSIX::setsid();    # one process group: master and workers
        open STDOUT, '>>', "$prefix/stderr.log";
        open STDERR, '>>', "$prefix/stderr.log";
        { exec $NGINX, '-p', "$prefix/", '-c', "$prefix/nginx.conf" }
        POSIX::_exit(127);
    }
    $running{$pid} = $prefix;
    my $deadline = time + 10;
    while (time < $deadline) {
        return $pid if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    delete $running{$pid};
    die "nginx did not start:\n" . read_file("$prefix/stderr.log")
        . read_file("$prefix/error.log");
}

sub stop_nginx {
    my ($pid) = @_;
    return unless delete $running{$pid};
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            kill 'KILL', -$pid;    # workers left behind, if any
            return;
        }
        sleep 0.05;
    }
    kill 'KILL', -$pid, $pid;
    waitpid($pid, 0);
}

# SIGHUP, then waits until the master has started the new workers
sub reload_nginx {
    my ($pid) = @_;
    my $prefix = $running{$pid} or die "nginx $pid is not running";
    my $before = () = read_file("$prefix/error.log") =~ /reconfiguring/g;
    kill 'HUP', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $now = () = read_file("$prefix/error.log") =~ /reconfiguring/g;
        return 1 if $now > $before;
        sleep 0.05;
    }
    return 0;
}

# The log lines nginx must never write in these tests.
sub bad_log_lines {
    my ($prefix, $levels) = @_;
    return grep { /\[(?:$levels)\]/ } split /\n/, read_file("$prefix/error.log");
}

# Sends one HTTP/1.1 request on a connection of its own, any Host (HTTP::Tiny
# refuses a Host other than the URL's), and returns the socket unread.
sub send_request {
    my ($port, $method, $path, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
        or die "connect: $!";
    my $body = $o{body};
    $body = json_encode($body) if ref $body;
    my %h = (Host => 'localhost', Connection => 'close', %{ $o{headers} || {} });
    if (defined $body && $o{chunked}) {
        $h{'Transfer-Encoding'} = 'chunked';
        my $chunked = '';
        for (my $i = 0; $i < length $body; $i += 4096) {
            my $part = substr($body, $i, 4096);
            $chunked .= sprintf("%x\r\n%s\r\n", length $part, $part);
        }
        $body = $chunked . "0\r\n\r\n";
    } elsif (defined $body) {
        $h{'Content-Length'} = length $body;
    }
    my $req = "$method $path HTTP/1.1\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n"
        . ($body // '');
    $sock->autoflush(1);
    print $sock $req;
    return $sock;
}

# Reads an answer to its end (the server closes), within $timeout seconds.
# With head_only, stops after the header (a 101 that stays open).
sub read_response {
    my ($sock, %o) = @_;
    my $deadline = time + ($o{timeout} // 15);
    my $sel = IO::Select->new($sock);
    my $raw = '';
    while (time < $deadline) {
        last if $o{head_only} && $raw =~ /\r\n\r\n/;
        next unless $sel->can_read(0.1);
        my $n = sysread($sock, $raw, 65536, length $raw);
        last unless $n;
    }
    close $sock unless $o{head_only};
    my ($head, $content) = split /\r\n\r\n/, $raw, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d{3})};
    my %headers;
    for (split /\r\n/, $head // '') {
        $headers{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    $content //= '';
    if (($headers{'transfer-encoding'} // '') eq 'chunked') {
        my $decoded = '';
        while ($content =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $decoded .= substr($content, 0, $n, '');
            $content =~ s/^\r\n//;
        }
        $content = $decoded;
    }
    my $res = { status => $status // 0, headers => \%headers, content => $content };
    if (($headers{'content-type'} // '') =~ m{^application/json} && length $content) {
        $res->{json} = eval { json_decode($content) };
    }
    return $res;
}

# Checks an answer of request() against a case of a test's table:
#   want: status; json: the whole JSON answer; body: the exact body;
#   like: a regex on the body; headers: exact response headers; absent:
#   headers that must not be there; error (and field): a JSON error answer.
sub check_answer {
    my ($res, $case, $label) = @_;
    Test::More::is($res->{status}, $case->{want}, $label)
        or Test::More::diag($res->{content});
    Test::More::is_deeply($res->{json}, $case->{json}, '  JSON answer')
        or Test::More::diag($res->{content})
        if $case->{json};
    Test::More::is($res->{content}, $case->{body}, '  body')
        if defined $case->{body};
    Test::More::like($res->{content}, $case->{like}, '  body') if $case->{like};
    for my $h (sort keys %{ $case->{headers} || {} }) {
        Test::More::is($res->{headers}{$h}, $case->{headers}{$h},
                       "  $h: $case->{headers}{$h}");
    }
    for my $h (@{ $case->{absent} || [] }) {
        Test::More::ok(!exists $res->{headers}{$h}, "  no $h");
    }
    if ($case->{error}) {
        Test::More::is(eval { $res->{json}{error}{code} }, $case->{error},
                       "  error code $case->{error}")
            or Test::More::diag($res->{content});
        Test::More::ok(length(eval { $res->{json}{error}{message} } // ''),
                       '  error message');
        Test::More::is(eval { $res->{json}{error}{field} }, $case->{field},
                       "  error field $case->{field}")
            if exists $case->{field};
    }
}

sub request {
    my ($port, $method, $path, %o) = @_;
    return read_response(send_request($port, $method, $path, %o));
}

1;
