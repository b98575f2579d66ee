# The shipped nginx.conf end to end: a sleeping dynamic app is woken
# through the wake module -> internal location -> API app -> Redis stream
# shipoff:wake; the held request is answered once the app runs (here the
# test plays shipoffd), metrics count the wake, and what must stay internal
# does.

use strict;
use warnings;
use lib 'tests/integration/lib';
use IO::Socket::INET;
use Test::More;
use ShipoffTest qw(stack_up http run free_port);
use ShipoffNginx qw(send_request read_response request);

my $s = stack_up();
my $http = $s->port('http');
my $host = "sleepy$$.localhost";
my $app_port = free_port();

sub route {
    my (%r) = @_;
    my $res = $s->control(PUT => "/_shipoff/routes/$host",
                          { project => "sleepy$$", kind => 'dynamic',
                            upstream => "127.0.0.1:$app_port", %r });
    ok($res->{status} == 200 || $res->{status} == 201,
       "route pushed: $r{state}") or diag $res->{content};
}

sub wakes {
    my $out = $s->redis('--raw', 'XRANGE', 'shipoff:wake', '-', '+');
    return scalar(() = $out =~ /^\Q$host\E$/mg);
}

# the app: a tiny HTTP server, started only when "shipoffd" wakes it
sub start_app {
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$app_port",
                                    Listen => 64, ReuseAddr => 1) or exit 1;
    while (my $c = $srv->accept) {
        my $req = '';
        sysread($c, $req, 65536);
        my ($path) = $req =~ m{^\w+ (\S+)};
        my $body = "awake: $path\n";
        print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($body)
                 . "\r\nConnection: close\r\n\r\n$body";
        close $c;
    }
    exit 0;
}

route(state => 'sleeping');

# three requests arrive while it sleeps: all held, one wake
my @held = map { send_request($http, 'GET', "/page$_", headers => { Host => $host }) }
               1 .. 3;

my $deadline = time + 10;
sleep 0.2 until wakes() >= 1 || time > $deadline;
is(wakes(), 1, 'one wake reached the queue for three held requests');

# as shipoffd does: the route runs only once the app accepts connections
my $app = start_app();
$deadline = time + 10;
until (IO::Socket::INET->new(PeerAddr => "127.0.0.1:$app_port", Timeout => 1)
       || time > $deadline)
{
    select undef, undef, undef, 0.05;
}
route(state => 'running');

for my $i (1 .. 3) {
    my $res = read_response($held[$i - 1], timeout => 15);
    is($res->{status}, 200, "held request $i answered");
    is($res->{content}, "awake: /page$i\n", "held request $i reached the app");
}

my $res = request($http, 'GET', '/again', headers => { Host => $host });
is($res->{status}, 200, 'a running app is proxied at once');
is(wakes(), 1, 'and is not woken again');

# the wake location is internal
$res = request($http, 'GET', "/_internal/wake?host=$host&project=x",
               headers => { Host => $host });
is($res->{status}, 404, 'a client cannot call the wake location');
is(wakes(), 1, 'nothing was queued by it');
$res = http(GET => $s->url("/_internal/wake?host=$host&project=x"));
is($res->{status}, 404, 'nor through the API\'s server');
is(wakes(), 1, 'nothing was queued by it');

# an unknown app host: a JSON 404
$res = request($http, 'GET', '/', headers => { Host => "nobody$$.localhost" });
is($res->{status}, 404, 'unknown app: 404');
is($res->{json}{error}{code}, 'not_found', 'unknown app: JSON error');

# metrics count the wake, on the control socket
$res = $s->control(GET => '/_shipoff/metrics');
is($res->{status}, 200, 'metrics answer');
like($res->{content}, qr/^shipoff_wakes_total\{[^}]*route="\Q$host\E"[^}]*\} 1$/m,
     'one wake counted for the route');

# the API is unharmed
$res = http(GET => $s->url('/api/v1/health'));
is($res->{status}, 200, 'the API is fine afterwards');

kill 'TERM', $app;
waitpid $app, 0;
done_testing();
